//! Invariants of the pure domain, over generated values.

use chrono::TimeDelta;
use crm_core::permissions::{authorize, can_own_leads};
use crm_core::status::TRANSITIONS;
use crm_core::testing::{email, instant, money, new_lead, phone, phone_region, status};
use crm_core::text::search_key;
use crm_core::{
    Action, Email, Employee, EmployeeId, Lead, LeadId, LeadPatch, LeadStatus, Money, Name, Phone,
    Role,
};
use proptest::prelude::*;

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(vec![Role::Sales, Role::Manager, Role::Other])
}

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(Action::ALL.to_vec())
}

proptest! {
    #[test]
    fn normalised_values_parse_to_themselves(e in email(), p in phone(), m in money()) {
        prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
        // A phone's key is itself an international number that reads back as the same key,
        // with or without a region.
        let again = Phone::parse(p.key()).map(|q| q.key().to_owned());
        prop_assert_eq!(again, Ok(p.key().to_owned()));
        let again = Phone::parse_in(p.key(), phone_region()).map(|q| q.key().to_owned());
        prop_assert_eq!(again, Ok(p.key().to_owned()));
        // Whatever was typed reads again as the same number.
        let again = Phone::parse_in(p.display(), phone_region()).map(|q| q.key().to_owned());
        prop_assert_eq!(again, Ok(p.key().to_owned()));
        prop_assert!(p.key().starts_with('+'));
        let shown = m.to_string();
        let (amount, code) = shown.split_once(' ').unwrap();
        prop_assert_eq!(code, m.currency().code());
        prop_assert_eq!(Money::parse(amount, m.currency()), Ok(m));
    }

    #[test]
    fn parsers_never_panic_on_any_text(
        s in prop_oneof![
            "\\PC{0,40}",
            "[+0-9٠-٩۰-۹ ()./#xext;=-]{0,40}",
            "[0-9,.٫٬ ]{0,24}",
        ],
        region in prop::sample::select(vec!["SA", "AE", "EG", "KW", "US", "GB", "IR"]),
    ) {
        // Every outcome is a value or a clear error; none is a panic (the phone parser hands
        // untrusted text to libphonenumber's port).
        let region = crm_core::PhoneRegion::parse(region).unwrap();
        let _ = crm_core::Phone::parse(&s);
        let _ = crm_core::Phone::parse_in(&s, region);
        let _ = crm_core::Email::parse(&s);
        let _ = crm_core::Source::parse(&s);
        let _ = crm_core::Name::parse(&s);
        for c in ["KWD", "SAR", "JPY"] {
            let _ = crm_core::Money::parse(&s, crm_core::Currency::parse(c).unwrap());
        }
    }

    #[test]
    fn search_key_is_idempotent(s in "\\PC{0,40}") {
        let k = search_key(&s);
        prop_assert_eq!(search_key(&k), k);
    }

    #[test]
    fn only_active_sales_and_managers_ever_write(role in role(), active in any::<bool>(), a in action(), own in any::<bool>()) {
        let me = EmployeeId::new(1).unwrap();
        let actor = Employee { active, ..Employee::new(me, Name::parse("E").unwrap(), role) };
        let owner = if own { me } else { EmployeeId::new(2).unwrap() };
        let allowed = authorize(&actor, a, Some(owner)).is_ok();
        prop_assert!(!allowed || (active && role != Role::Other));
        if a == Action::ReopenLead || (a == Action::ReassignLead && !own) {
            prop_assert_eq!(allowed, active && role == Role::Manager);
        }
        prop_assert_eq!(can_own_leads(&actor).is_ok(), active && role != Role::Other);
    }

    #[test]
    fn the_table_never_leaves_converted_and_never_loops(from in status(), to in status()) {
        let listed = TRANSITIONS.iter().any(|(f, t, _)| *f == from && *t == to);
        prop_assert_eq!(from.move_rule(to).is_some(), listed);
        prop_assert!(from != to || !listed);
        prop_assert!(from != LeadStatus::Converted || !listed);
        prop_assert_eq!(from.allowed_targets().contains(&to), listed);
    }

    #[test]
    fn edits_bump_version_and_keep_identity(input in new_lead(), at in instant(), new_name in crm_core::testing::name()) {
        let lead = Lead::create(LeadId::new_at(at), input, EmployeeId::new(1).unwrap(), EmployeeId::new(1).unwrap(), at).unwrap();
        let patch = LeadPatch { name: Some(new_name.clone()), ..Default::default() };
        match lead.edited(&patch, at + TimeDelta::seconds(1)) {
            Ok((edited, changes)) => {
                prop_assert_eq!(edited.version(), lead.version() + 1);
                prop_assert_eq!(edited.id(), lead.id());
                prop_assert_eq!(edited.created_at(), lead.created_at());
                prop_assert_eq!(edited.name(), &new_name);
                prop_assert_eq!(changes.len(), 1);
            }
            Err(_) => prop_assert_eq!(lead.name(), &new_name),
        }
    }

    #[test]
    fn serde_round_trips_leads(input in new_lead(), at in instant()) {
        let lead = Lead::create(LeadId::new_at(at), input, EmployeeId::new(3).unwrap(), EmployeeId::new(3).unwrap(), at).unwrap();
        let json = serde_json::to_string(&lead).unwrap();
        prop_assert_eq!(serde_json::from_str::<Lead>(&json).unwrap(), lead);
    }
}
