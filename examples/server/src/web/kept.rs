//! A form sent back: what was typed and what is wrong with it, so its page is shown again
//! under the refusal's status (422 bad input, 409 a rule's refusal, 412 a stale version, 403
//! a wrong password) with the form as typed and each message at its field, nothing lost.
//! The lead page, the employees, teams and import pages carry one; a page shown afresh has
//! an empty one.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use crm_core::CrmError;

use super::page::{Ctx, fail};

use crate::i18n::Lang;
use crate::problem::{FieldError, Problem};

/// What one of a page's forms sent and what is wrong with it.
#[derive(Default)]
pub struct Kept {
    /// Which form (`interaction`, `employee`, ...; empty: none kept).
    pub form: &'static str,
    /// Each field as typed.
    pub typed: BTreeMap<&'static str, String>,
    /// What is wrong, said in the page's language.
    pub errors: Vec<FieldError>,
    /// The refusal's status: the page answers with it.
    pub refusal: Option<StatusCode>,
}

impl Kept {
    /// `form` as sent.
    pub fn new<const N: usize>(form: &'static str, typed: [(&'static str, String); N]) -> Self {
        Self {
            form,
            typed: typed.into(),
            errors: Vec::new(),
            refusal: None,
        }
    }

    /// The form with the input errors of `p`, said in `lang`.
    pub fn invalid(self, lang: Lang, p: Problem) -> Self {
        self.at(crate::say::problem(lang, p), "")
    }

    /// The form with the library's refusal `e`, said in the viewer's language, when it is
    /// one to show at its form ([`Kept::shows`]); a refusal that names no field (someone
    /// who may not be given a lead, a move the status rule refuses) is put at `at`. Any
    /// other refusal is its error page.
    pub fn refused(self, ctx: &Ctx, e: CrmError, at: &str) -> Result<Self, Response> {
        match Self::shows(&e) {
            true => Ok(self.said(ctx.lang, e, at)),
            false => Err(fail(ctx)(e)),
        }
    }

    /// [`Kept::refused`] for a refusal to show, said in `lang`.
    fn said(self, lang: Lang, e: CrmError, at: &str) -> Self {
        self.at(crate::say::error(lang, e), at)
    }

    fn at(self, p: Problem, at: &str) -> Self {
        let errors = match p.errors.is_empty() {
            true => vec![FieldError::new(at, p.detail)],
            false => p.errors,
        };
        Self {
            errors,
            refusal: Some(
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            ),
            ..self
        }
    }

    /// Whether the library's refusal is one to show at its form: bad input, or a rule that
    /// refuses it (422, 409, 412), but on a read-only lead. Anything else (not found,
    /// forbidden, a failure) is its error page.
    fn shows(e: &CrmError) -> bool {
        // A read-only lead's page shows no form to put the message at.
        !matches!(e, CrmError::ReadOnly(_))
            && matches!(
                crate::problem::status_of(e),
                StatusCode::UNPROCESSABLE_ENTITY
                    | StatusCode::CONFLICT
                    | StatusCode::PRECONDITION_FAILED
            )
    }

    /// The refusal's status when a form was sent back, else 200.
    pub fn status(&self) -> StatusCode {
        self.refusal.unwrap_or(StatusCode::OK)
    }

    /// What was typed in `form`'s `field`, or `default`.
    pub fn typed(&self, form: &str, field: &str, default: &str) -> String {
        match (self.form == form).then(|| self.typed.get(field)) {
            Some(Some(v)) => v.clone(),
            _ => default.to_owned(),
        }
    }

    /// What is wrong with `form`'s `field` (empty: nothing).
    pub fn err(&self, form: &str, field: &str) -> String {
        if self.form != form {
            return String::new();
        }
        (self.errors.iter())
            .filter(|e| crate::say::form_field(&e.field) == field)
            .map(|e| e.detail.as_str())
            .collect::<Vec<_>>()
            .join("؛ ")
    }

    /// The errors of `form` at no field it shows.
    pub fn others(&self, form: &str, fields: &[&str]) -> Vec<String> {
        if self.form != form {
            return Vec::new();
        }
        (self.errors.iter())
            .filter(|e| !fields.contains(&crate::say::form_field(&e.field)))
            .map(|e| e.detail.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_without_a_field_is_put_at_the_one_named_and_said_in_the_language() {
        let e = CrmError::InvalidAssignee {
            employee: crm_core::EmployeeId::new(9).unwrap(),
            problem: crm_core::AssigneeProblem::Inactive,
        };
        assert!(Kept::shows(&e));
        let k = Kept::new("assign", [("to", "9".to_owned())]).said(Lang::Ar, e, "to");
        assert_eq!(k.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(k.typed("assign", "to", ""), "9");
        assert_eq!(k.typed("other", "to", "x"), "x");
        assert!(
            k.err("assign", "to").contains("غير نشط"),
            "{}",
            k.err("assign", "to")
        );
        assert!(k.err("other", "to").is_empty());
        assert!(k.others("assign", &["to"]).is_empty());
        assert_eq!(Kept::default().status(), StatusCode::OK);
        assert!(!Kept::shows(&CrmError::NotFound {
            entity: crm_core::Entity::Lead,
            id: "x".into()
        }));
        let p = Problem::invalid(vec![FieldError::new("name", "is required")]);
        let k = Kept::new("employee", []).invalid(Lang::Ar, p);
        assert_eq!(k.err("employee", "name"), "مطلوب");
    }
}
