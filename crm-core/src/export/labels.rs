//! Headings and labels of exports, in Arabic and English.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::opportunity::OpportunityStage;
use crate::source::Source;
use crate::status::LeadStatus;
use crate::validation::ValidationError;

/// The language of an export's headings and labels. Arabic exports read right to left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    /// Arabic, right to left.
    Ar,
    /// English.
    #[default]
    En,
}

impl Locale {
    /// `ar` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ar => "ar",
            Self::En => "en",
        }
    }

    /// Whether pages and sheets read right to left.
    pub fn is_rtl(self) -> bool {
        self == Self::Ar
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Locale {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ar" => Ok(Self::Ar),
            "en" => Ok(Self::En),
            _ => Err(ValidationError::InvalidId {
                kind: "locale (ar or en)",
                value: s.chars().take(40).collect(),
            }),
        }
    }
}

/// Every text an export prints besides the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    Id,
    Name,
    Email,
    Phone,
    Company,
    Source,
    Status,
    OwnerName,
    OwnerId,
    Created,
    Updated,
    LastInteraction,
    LostReason,
    ClientId,
    Total,
    LeadsTitle,
    ReportTitle,
    Generated,
    Search,
    From,
    To,
    Campaign,
    PipelineTitle,
    Currency,
    Breakdown,
    Item,
    Owner,
    Stage,
    CloseMonth,
    OpenCount,
    OpenValue,
    Weighted,
    WonCount,
    WonValue,
    LostCount,
    LostValue,
    CloseFrom,
    CloseTo,
    LostReasonsTitle,
    LostReasonCode,
    Leads,
    SharePercent,
    TimeInStatusTitle,
    AverageMinutes,
    Average,
    All,
}

/// The label in the locale's language.
pub(crate) fn label(l: Label, locale: Locale) -> &'static str {
    let (en, ar) = match l {
        Label::Id => ("ID", "المعرّف"),
        Label::Name => ("Name", "الاسم"),
        Label::Email => ("Email", "البريد"),
        Label::Phone => ("Phone", "الجوال"),
        Label::Company => ("Company", "الشركة"),
        Label::Source => ("Source", "المصدر"),
        Label::Status => ("Status", "الحالة"),
        Label::OwnerName => ("Owner name", "اسم المسؤول"),
        Label::OwnerId => ("Owner ID", "رقم المسؤول"),
        Label::Created => ("Created", "تاريخ الإنشاء"),
        Label::Updated => ("Updated", "آخر تعديل"),
        Label::LastInteraction => ("Last interaction", "آخر تواصل"),
        Label::LostReason => ("Lost reason", "سبب الخسارة"),
        Label::ClientId => ("Client ID", "رقم العميل"),
        Label::Total => ("Total", "الإجمالي"),
        Label::LeadsTitle => ("Leads", "العملاء المحتملون"),
        Label::ReportTitle => (
            "Leads by status and source",
            "العملاء المحتملون حسب الحالة والمصدر",
        ),
        Label::Generated => ("Generated", "تاريخ الإعداد"),
        Label::Search => ("Search", "بحث"),
        Label::From => ("From", "من"),
        Label::To => ("Before", "قبل"),
        Label::Campaign => ("Campaign", "الحملة"),
        Label::PipelineTitle => ("Pipeline value", "قيمة خط المبيعات"),
        Label::Currency => ("Currency", "العملة"),
        Label::Breakdown => ("By", "حسب"),
        Label::Item => ("Item", "البند"),
        Label::Owner => ("Owner", "المسؤول"),
        Label::Stage => ("Stage", "المرحلة"),
        Label::CloseMonth => ("Close month", "شهر الإغلاق"),
        Label::OpenCount => ("Open", "مفتوحة"),
        Label::OpenValue => ("Open value", "قيمة المفتوحة"),
        Label::Weighted => ("Weighted value", "القيمة المرجحة"),
        Label::WonCount => ("Won", "مكسوبة"),
        Label::WonValue => ("Won value", "قيمة المكسوبة"),
        Label::LostCount => ("Lost", "خاسرة"),
        Label::LostValue => ("Lost value", "قيمة الخاسرة"),
        Label::CloseFrom => ("Closing from", "الإغلاق من"),
        Label::CloseTo => ("Closing until", "الإغلاق حتى"),
        Label::LostReasonsTitle => ("Lost leads by reason", "العملاء المفقودون حسب السبب"),
        Label::LostReasonCode => ("Code", "الرمز"),
        Label::Leads => ("Leads", "العملاء"),
        Label::SharePercent => ("Share (%)", "النسبة (%)"),
        Label::TimeInStatusTitle => ("Average time in each status", "متوسط المدة في كل حالة"),
        Label::AverageMinutes => ("Average (minutes)", "المتوسط (بالدقائق)"),
        Label::Average => ("Average", "المتوسط"),
        Label::All => ("All", "الكل"),
    };
    match locale {
        Locale::En => en,
        Locale::Ar => ar,
    }
}

/// A status as people read it.
pub fn status_label(s: LeadStatus, locale: Locale) -> &'static str {
    match locale {
        Locale::En => match s {
            LeadStatus::New => "New",
            LeadStatus::Contacted => "Contacted",
            LeadStatus::Interested => "Interested",
            LeadStatus::Converted => "Converted",
            LeadStatus::Lost => "Lost",
        },
        Locale::Ar => match s {
            LeadStatus::New => "جديد",
            LeadStatus::Contacted => "تم التواصل",
            LeadStatus::Interested => "مهتم",
            LeadStatus::Converted => "تم التحويل",
            LeadStatus::Lost => "خسارة",
        },
    }
}

/// A source as people read it: the built-in ones translated, a host's own as its slug.
pub fn source_label(s: &Source, locale: Locale) -> Cow<'_, str> {
    let (en, ar) = match s.as_str() {
        "web" => ("Web", "الموقع"),
        "referral" => ("Referral", "إحالة"),
        "phone" => ("Phone", "هاتف"),
        "email" => ("Email", "بريد إلكتروني"),
        "event" => ("Event", "فعالية"),
        "other" => ("Other", "أخرى"),
        custom => return Cow::Borrowed(custom),
    };
    Cow::Borrowed(match locale {
        Locale::En => en,
        Locale::Ar => ar,
    })
}

/// A lost-reason code as people read it: the default codes ([`crate::LostReasons`]) in
/// the locale's words, a host's own code as it is.
pub fn lost_reason_label(code: &str, locale: Locale) -> Cow<'_, str> {
    let (en, ar) = match code {
        "price" => ("Price", "السعر"),
        "competitor" => ("Chose a competitor", "اختار منافسًا"),
        "no-budget" => ("No budget", "لا ميزانية"),
        "no-response" => ("No response", "لا يرد"),
        "not-interested" => ("Not interested", "غير مهتم"),
        "timing" => ("Bad timing", "التوقيت غير مناسب"),
        "duplicate" => ("Duplicate", "مكرر"),
        "other" => ("Other", "سبب آخر"),
        custom => return Cow::Borrowed(custom),
    };
    Cow::Borrowed(match locale {
        Locale::En => en,
        Locale::Ar => ar,
    })
}

/// How long `d` lasted, in days, hours and minutes (the parts that are not zero), as the
/// language says it: "2 days 3 h 5 min", «يومان و3 ساعات و5 دقائق»; under a minute, "less
/// than a minute".
pub fn duration_label(d: chrono::TimeDelta, locale: Locale) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let mut parts: Vec<String> = Vec::new();
    match locale {
        Locale::Ar => {
            if days > 0 {
                parts.push(arabic_count(days, "يوم واحد", "يومان", "أيام", "يومًا"));
            }
            if hours > 0 {
                parts.push(arabic_count(hours, "ساعة واحدة", "ساعتان", "ساعات", "ساعة"));
            }
            if mins > 0 {
                parts.push(arabic_count(
                    mins,
                    "دقيقة واحدة",
                    "دقيقتان",
                    "دقائق",
                    "دقيقة",
                ));
            }
            if parts.is_empty() {
                return "أقل من دقيقة".to_owned();
            }
            parts.join(" و")
        }
        Locale::En => {
            if days > 0 {
                parts.push(format!("{days} day{}", if days == 1 { "" } else { "s" }));
            }
            if hours > 0 {
                parts.push(format!("{hours} h"));
            }
            if mins > 0 {
                parts.push(format!("{mins} min"));
            }
            if parts.is_empty() {
                return "less than a minute".to_owned();
            }
            parts.join(" ")
        }
    }
}

/// A count of a unit in Arabic: one and two have forms of their own, three to ten take the
/// plural, eleven and more the singular with tanwin (or, from 100, bare).
fn arabic_count(n: i64, one: &str, two: &str, plural: &str, many: &str) -> String {
    match n {
        1 => one.to_owned(),
        2 => two.to_owned(),
        3..=10 => format!("{n} {plural}"),
        11..=99 => format!("{n} {many}"),
        _ => format!("{n} {}", many.trim_end_matches('ً').trim_end_matches('ا')),
    }
}

/// An opportunity stage as people read it.
pub fn stage_label(s: OpportunityStage, locale: Locale) -> &'static str {
    let (en, ar) = match s {
        OpportunityStage::Open => ("Open", "مفتوحة"),
        OpportunityStage::Qualified => ("Qualified", "مؤهلة"),
        OpportunityStage::Proposal => ("Proposal", "عرض سعر"),
        OpportunityStage::Negotiation => ("Negotiation", "تفاوض"),
        OpportunityStage::Won => ("Won", "مكسوبة"),
        OpportunityStage::Lost => ("Lost", "خاسرة"),
    };
    match locale {
        Locale::En => en,
        Locale::Ar => ar,
    }
}
