//! Lead scoring's reasons said in the viewer's language ([`Reason::describe`]).

use super::{Locale, source_label};
use crate::scoring::{Field, Reason};
use crate::source::Source;

impl Reason {
    /// The reason as a sentence in `locale`: "source: Event raised it by 12 points",
    /// «المصدر: فعالية (+12 نقطة)»; a rule says it is one ("rule: ...", «قاعدة: ...»).
    pub fn describe(&self, locale: Locale) -> String {
        let p = self.points();
        let n = p.unsigned_abs();
        let moved = match locale {
            Locale::En => {
                let verb = if p >= 0 { "raised" } else { "lowered" };
                format!("{verb} it by {n} point{}", if n == 1 { "" } else { "s" })
            }
            // Arabic counts: 1 and 2 have forms of their own, 3 to 10 take the plural, 11
            // and more the singular.
            Locale::Ar => {
                let sign = if p >= 0 { '+' } else { '-' };
                match n {
                    1 => format!("({sign}نقطة واحدة)"),
                    2 => format!("({sign}نقطتان)"),
                    3..=10 => format!("({sign}{n} نقاط)"),
                    _ => format!("({sign}{n} نقطة)"),
                }
            }
        };
        let rule = match (self, locale) {
            (Reason::Rule { .. }, Locale::En) => "rule: ",
            (Reason::Rule { .. }, Locale::Ar) => "قاعدة: ",
            _ => "",
        };
        match self {
            Reason::Learned { field, value, .. } | Reason::Rule { field, value, .. } => {
                let value = value_label(*field, value, locale);
                format!("{rule}{}: {value} {moved}", field_label(*field, locale))
            }
            Reason::Decay { days, .. } => match locale {
                Locale::En => format!("no interaction in {days} days {moved}"),
                Locale::Ar => {
                    let days = match days {
                        1 => "يوم واحد".to_owned(),
                        2 => "يومين".to_owned(),
                        3..=10 => format!("{days} أيام"),
                        11..=99 => format!("{days} يومًا"),
                        _ => format!("{days} يوم"),
                    };
                    format!("عدم التفاعل منذ {days} {moved}")
                }
            },
        }
    }
}

/// A field's name in `locale`.
fn field_label(field: Field, locale: Locale) -> &'static str {
    let (en, ar) = match field {
        Field::Source => ("source", "المصدر"),
        Field::EmailKind => ("e-mail", "البريد"),
        Field::PhoneKind => ("phone line", "نوع الهاتف"),
        Field::PhoneCountry => ("phone country", "بلد الهاتف"),
        Field::Language => ("name script", "خط الاسم"),
        Field::Age => ("days since created", "الأيام منذ الإنشاء"),
        Field::Interactions => ("interactions", "التفاعلات"),
        Field::Opportunity => ("opportunity", "فرصة بيع"),
    };
    match locale {
        Locale::En => en,
        Locale::Ar => ar,
    }
}

/// A field's value as people read it in `locale`.
fn value_label(field: Field, value: &str, locale: Locale) -> String {
    let ar = locale == Locale::Ar;
    let fixed = match (field, value) {
        (Field::Source, v) => {
            return Source::parse(v)
                .map_or_else(|_| v.to_owned(), |s| source_label(&s, locale).into_owned());
        }
        (Field::EmailKind, "company") => ("a company domain", "نطاق شركة"),
        (Field::EmailKind, "free_mail") => ("a free mail address", "بريد مجاني"),
        (Field::PhoneKind, "mobile") => ("mobile", "جوال"),
        (Field::PhoneKind, "landline") => ("landline", "هاتف ثابت"),
        (Field::Language, "arabic") => ("Arabic", "عربي"),
        (Field::Language, "latin") => ("Latin", "لاتيني"),
        (Field::PhoneKind | Field::Language, "other") => ("other", "آخر"),
        (Field::Opportunity, "yes") => ("yes", "نعم"),
        (Field::Opportunity, "no") => ("none", "لا توجد"),
        (_, "none") => ("none", "لا يوجد"),
        (_, "other") => ("other", "أخرى"),
        (_, v) => return v.to_owned(),
    };
    (if ar { fixed.1 } else { fixed.0 }).to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;
    use crate::scoring::{Features, Frequencies, RulePoints, Rules, score};

    #[test]
    fn reasons_read_in_english_and_arabic() {
        let rules = Rules {
            points: vec![RulePoints {
                field: Field::Source,
                value: "event".to_owned(),
                points: 20,
            }],
            decay_per_week: 3,
        };
        let features = Features::new([
            (Field::Source, "event".to_owned()),
            (Field::EmailKind, "none".to_owned()),
        ]);
        let at = |d| Utc.timestamp_opt(1_780_000_000, 0).unwrap() + TimeDelta::days(d);
        let s = score(&Frequencies::default(), &rules, &features, at(0), at(15));
        assert_eq!(
            s.reasons[0].describe(Locale::En),
            "rule: source: Event raised it by 20 points"
        );
        assert_eq!(
            s.reasons[0].describe(Locale::Ar),
            "قاعدة: المصدر: فعالية (+20 نقطة)"
        );
        assert_eq!(
            s.reasons[1].describe(Locale::En),
            "no interaction in 15 days lowered it by 6 points"
        );
        assert_eq!(
            s.reasons[1].describe(Locale::Ar),
            "عدم التفاعل منذ 15 يومًا (-6 نقاط)"
        );
        let learned = |points| Reason::Learned {
            field: Field::EmailKind,
            value: "free_mail".to_owned(),
            points,
        };
        assert_eq!(
            learned(-1).describe(Locale::Ar),
            "البريد: بريد مجاني (-نقطة واحدة)"
        );
        assert_eq!(
            learned(2).describe(Locale::Ar),
            "البريد: بريد مجاني (+نقطتان)"
        );
        assert_eq!(
            learned(1).describe(Locale::En),
            "e-mail: a free mail address raised it by 1 point"
        );
    }
}
