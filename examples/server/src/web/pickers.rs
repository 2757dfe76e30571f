//! Names, not numbers: the lists a form offers for an employee (owner, assignee, team
//! member, manager), a team, a source and a currency, each from the one place that knows:
//! the employee directory, and the host's sources and currencies in the library
//! ([`crm_core::Crm::sources`], [`crm_core::Crm::currencies`]). The form still posts the
//! id or the slug, and the library still decides.

use crm_core::{Employee, Role};

use super::Viewer;
use crate::AppState;
use crate::i18n::Strings;

/// One `<option>`.
pub struct Opt {
    /// What the form posts.
    pub value: String,
    /// What the viewer reads.
    pub label: String,
    /// Whether it is chosen.
    pub selected: bool,
}

/// What a form may offer, read once per page.
pub struct Pickers {
    people: Vec<Employee>,
    sources: Vec<String>,
    /// Whether the viewer may type a source not listed (then the source is a text box
    /// with the list as suggestions; else a list).
    pub new_source: bool,
    currencies: Vec<String>,
    /// Whether any currency is taken (then the currency is a text box with suggestions).
    pub any_currency: bool,
}

/// The currencies suggested when the host lists none: the Gulf's, Egypt's and the few a
/// deal is most often priced in besides.
const SUGGESTED: &[&str] = &[
    "SAR", "AED", "KWD", "QAR", "BHD", "OMR", "EGP", "JOD", "USD", "EUR",
];

/// An employee as a list shows them: the name, and the id when two share it.
fn person(e: &Employee, all: &[Employee]) -> String {
    let twins = all.iter().filter(|o| o.name == e.name).count() > 1;
    if twins {
        format!("{} ({})", e.name, e.id)
    } else {
        e.name.to_string()
    }
}

fn opts(
    items: impl IntoIterator<Item = (String, String)>,
    selected: &str,
    blank: Option<&str>,
) -> Vec<Opt> {
    let mut out: Vec<Opt> = blank
        .map(|b| Opt {
            value: String::new(),
            label: b.to_owned(),
            selected: selected.is_empty(),
        })
        .into_iter()
        .collect();
    for (value, label) in items {
        out.push(Opt {
            selected: value == selected,
            value,
            label,
        });
    }
    out
}

impl Pickers {
    /// The directory as `v` may read it, and the host's sources and currencies.
    pub async fn read(s: &AppState, v: &Viewer) -> Self {
        let mut people = s.crm.employees(v.employee).await.unwrap_or_default();
        people.sort_by_key(|e| e.name.to_string());
        let sources = s.crm.sources();
        let new_source = v.ctx.me.as_ref().is_some_and(|me| sources.may_add(me));
        let (currencies, any_currency) = match s.crm.currencies().listed() {
            Some(list) => (list.iter().map(|c| c.code().to_owned()).collect(), false),
            None => (SUGGESTED.iter().map(|c| (*c).to_owned()).collect(), true),
        };
        Self {
            people,
            sources: (sources.listed().iter()).map(|s| s.to_string()).collect(),
            new_source,
            currencies,
            any_currency,
        }
    }

    /// Who may be made responsible for a lead: active sales staff and management.
    pub fn owners(&self, selected: &str, blank: Option<&str>) -> Vec<Opt> {
        let able = (self.people.iter())
            .filter(|e| crm_core::permissions::can_own_leads(e).is_ok())
            .map(|e| (e.id.to_string(), person(e, &self.people)));
        opts(able, selected, blank)
    }

    /// Everyone in the directory (filters: a former owner's leads are still theirs).
    pub fn people(&self, selected: &str, blank: Option<&str>) -> Vec<Opt> {
        let all = (self.people.iter()).map(|e| (e.id.to_string(), person(e, &self.people)));
        opts(all, selected, blank)
    }

    /// Management (a team's manager).
    pub fn managers(&self, selected: &str, blank: Option<&str>) -> Vec<Opt> {
        let bosses = (self.people.iter())
            .filter(|e| e.role == Role::Manager)
            .map(|e| (e.id.to_string(), person(e, &self.people)));
        opts(bosses, selected, blank)
    }

    /// The teams the directory names (members' and managers'), for suggestions.
    pub fn teams(&self) -> Vec<String> {
        let mut teams: Vec<String> = (self.people.iter())
            .flat_map(|e| e.team.iter().chain(e.manages.iter()))
            .map(ToString::to_string)
            .collect();
        teams.sort();
        teams.dedup();
        teams
    }

    /// The host's sources, each in the page's language; `selected` is kept when it is a
    /// source not listed (a lead's own, or what was typed).
    pub fn sources(&self, t: &Strings, selected: &str, blank: Option<&str>) -> Vec<Opt> {
        let mut listed: Vec<(String, String)> = (self.sources.iter())
            .map(|s| (s.clone(), t.source_label(s)))
            .collect();
        if !selected.is_empty() && !self.sources.iter().any(|s| s == selected) {
            listed.push((selected.to_owned(), t.source_label(selected)));
        }
        opts(listed, selected, blank)
    }

    /// The host's currencies (or suggestions, when any is taken); `selected` kept as for
    /// sources.
    pub fn currencies(&self, selected: &str) -> Vec<Opt> {
        let mut listed: Vec<(String, String)> = (self.currencies.iter())
            .map(|c| (c.clone(), c.clone()))
            .collect();
        if !selected.is_empty() && !self.currencies.iter().any(|c| c == selected) {
            listed.push((selected.to_owned(), selected.to_owned()));
        }
        opts(listed, selected, None)
    }
}
