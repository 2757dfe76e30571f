//! The pipeline page: what the pipeline is worth per currency (never added across
//! currencies), by owner, stage and close month, with CSV, XLSX and PDF downloads; the
//! probability of each stage, the form management changes one with, and its history.

use super::Form;
use askama::Template;
use axum::extract::{Query, State};
use crm_core::export;
use crm_core::{OpportunityStage, Probability};
use serde::Deserialize;

use super::reports::{download, kept_query};
use super::{Ctx, Viewer, redirect, render};
use super::{WebResult, fail, names, problem, who};
use crate::AppState;
use crate::api::{Fields, PipelineParams, PipelineTotalsOut};
use crate::chart::{self, Bar, Dir};
use crate::input;

/// The stage probability changes the page lists.
const HISTORY: u32 = 20;

#[derive(Deserialize, Default)]
pub struct PipelineQuery {
    owner: Option<String>,
    close_from: Option<String>,
    close_to: Option<String>,
    format: Option<String>,
}

/// One currency's tables: each row a label and its totals.
struct CurrencyView {
    code: String,
    totals: PipelineTotalsOut,
    by_owner: Vec<(String, PipelineTotalsOut)>,
    by_stage: Vec<(String, PipelineTotalsOut)>,
    by_month: Vec<(String, PipelineTotalsOut)>,
    /// The open value of each open stage, drawn ([`crate::chart`]).
    chart: String,
}

/// A stage's probability as the page shows it.
struct StageView {
    stage: String,
    probability: u8,
    default: u8,
    /// Who set it and when, or empty (the default is in force).
    set_by: String,
    set_at: String,
}

/// One stored change.
struct ChangeView {
    stage: String,
    probability: u8,
    by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "pipeline/page.html")]
struct PipelinePage {
    c: Ctx,
    /// The owner filter's choices.
    owners: Vec<super::pickers::Opt>,
    close_from: String,
    close_to: String,
    currencies: Vec<CurrencyView>,
    stages: Vec<StageView>,
    history: Vec<ChangeView>,
    csv_href: String,
    xlsx_href: String,
    pdf_href: String,
}

/// The pipeline, as tables or a download (CSV, XLSX, PDF), and the stage probabilities.
pub async fn page(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<PipelineQuery>,
) -> WebResult {
    let c = &v.ctx;
    let params = PipelineParams {
        owner: q.owner.clone(),
        close_from: q.close_from.clone(),
        close_to: q.close_to.clone(),
    };
    let mut f = Fields::default();
    let filter = input::pipeline_filter(&mut f, &params);
    let filter = f.done(filter).map_err(|p| problem(c, p))?;
    if let Some(format) = q.format.as_deref() {
        return download(c, "pipeline", format, |format, opts| async move {
            let mut body = Vec::new();
            export::write_pipeline(&s.crm, v.employee, &filter, format, &opts, &mut body).await?;
            Ok(body)
        })
        .await;
    }
    let r = s.crm.pipeline(v.employee, &filter).await.map_err(fail(c))?;
    let stages = s.crm.pipeline_stages(v.employee).await.map_err(fail(c))?;
    let changes = s
        .crm
        .stage_probability_history(v.employee, HISTORY)
        .await
        .map_err(fail(c))?;
    let names = names(&s, &v).await;
    let currencies = r
        .currencies
        .iter()
        .map(|cur| {
            let totals = |t| PipelineTotalsOut::new(cur, t);
            let code = cur.currency.code();
            let bars: Vec<Bar> = (cur.by_stage.iter())
                .filter(|(st, _)| st.is_open())
                .map(|(st, t)| {
                    let t = totals(t);
                    Bar {
                        label: c.t.word(st.as_str()).to_owned(),
                        size: t.open_minor as f64,
                        text: format!("{} {code}", c.num(&t.open)),
                    }
                })
                .collect();
            let title = format!("{} ({code})", c.t.chart_open_by_stage);
            CurrencyView {
                chart: chart::bars(&format!("chart-{code}"), &title, &bars, Dir::of(c.dir())),
                code: cur.currency.code().to_owned(),
                totals: totals(&cur.totals),
                by_owner: cur
                    .by_owner
                    .iter()
                    .map(|(o, t)| (who(&names, o.get()), totals(t)))
                    .collect(),
                by_stage: cur
                    .by_stage
                    .iter()
                    .map(|(st, t)| (c.t.word(st.as_str()).to_owned(), totals(t)))
                    .collect(),
                by_month: cur
                    .by_month
                    .iter()
                    .map(|(m, t)| (m.format("%Y-%m").to_string(), totals(t)))
                    .collect(),
            }
        })
        .collect();
    let stages = stages
        .iter()
        .map(|st| StageView {
            stage: st.stage.to_string(),
            probability: st.probability.percent(),
            default: st.default.percent(),
            set_by: st
                .set
                .as_ref()
                .map_or(String::new(), |ch| who(&names, ch.changed_by.get())),
            set_at: st
                .set
                .as_ref()
                .map_or(String::new(), |ch| c.time(&ch.changed_at)),
        })
        .collect();
    let history = changes
        .iter()
        .map(|ch| ChangeView {
            stage: ch.stage.to_string(),
            probability: ch.probability.percent(),
            by: who(&names, ch.changed_by.get()),
            at: c.time(&ch.changed_at),
        })
        .collect();
    let query = kept_query(&[
        ("owner", &q.owner),
        ("close_from", &q.close_from),
        ("close_to", &q.close_to),
    ]);
    let href = |format: &str| format!("/pipeline?format={format}{query}");
    let pick = super::pickers::Pickers::read(&s, &v).await;
    Ok(render(&PipelinePage {
        owners: pick.people(
            q.owner.as_deref().unwrap_or_default().trim(),
            Some(v.ctx.t.anyone),
        ),
        close_from: q.close_from.unwrap_or_default(),
        close_to: q.close_to.unwrap_or_default(),
        currencies,
        stages,
        history,
        csv_href: href("csv"),
        xlsx_href: href("xlsx"),
        pdf_href: href("pdf"),
        c: v.ctx,
    }))
}

#[derive(Deserialize)]
pub struct StageForm {
    csrf: String,
    stage: String,
    probability: String,
}

/// Sets a stage's probability (the library lets only management, and only for an open
/// stage) and shows the pipeline again.
pub async fn set_stage(
    State(s): State<AppState>,
    v: Viewer,
    Form(form): Form<StageForm>,
) -> WebResult {
    v.check_csrf(&form.csrf)?;
    let c = &v.ctx;
    let mut f = Fields::default();
    let stage = f.take("stage", form.stage.parse::<OpportunityStage>());
    let p = f.take("probability", form.probability.parse::<Probability>());
    let (stage, p) = f.done(stage.zip(p)).map_err(|e| problem(c, e))?;
    s.crm
        .set_stage_probability(v.employee, stage, p)
        .await
        .map_err(fail(c))?;
    Ok(redirect("/pipeline"))
}
