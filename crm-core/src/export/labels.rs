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
