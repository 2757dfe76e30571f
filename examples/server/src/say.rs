//! Every refusal in the page's language. The library's errors and the server's own input
//! messages are English (the API's and the CLI's words, stable for programs); a page says
//! them in its language from the error itself, never from its English text: each
//! [`ValidationError`] and [`CrmError`] variant has its sentence here, each reason the
//! library gives (`it has no @`) and each field name (`phone`) its Arabic. A test reads the
//! library's sources for every reason it can give and fails on one this module does not
//! say (`tests::every_reason_the_library_gives_is_said_in_arabic`).

use crm_core::import::FileError;
use crm_core::{CrmError, RowError, ValidationError};

use crate::i18n::Lang;
use crate::problem::{FieldError, Problem};

/// The reasons the library gives inside an error (`invalid phone number "...": {reason}`),
/// with their Arabic.
pub const REASONS: &[(&str, &str)] = &[
    // Phones.
    ("a + may only come first", "لا تأتي + إلا في أوله"),
    ("it has no digits", "لا أرقام فيه"),
    (
        "it has the wrong number of digits for its country",
        "عدد أرقامه لا يناسب دولته",
    ),
    (
        "it is a local number without its area code",
        "رقم محلي بلا رمز المنطقة",
    ),
    ("it is empty", "فارغ"),
    ("it is longer than 32 characters", "أطول من 32 حرفًا"),
    ("it is longer than 64 characters", "أطول من 64 حرفًا"),
    ("it is longer than E.164's 15 digits", "أطول من 15 رقمًا"),
    (
        "it is too long for a number of its country",
        "أطول من أرقام دولته",
    ),
    (
        "it is too short for a number of its country",
        "أقصر من أرقام دولته",
    ),
    (
        "it has a control or bidi-override character",
        "فيه محرف تحكم أو تغيير اتجاه",
    ),
    (
        "a stored phone key must be 6 to 15 digits after an optional +",
        "مفتاح الهاتف المخزَّن من 6 إلى 15 رقمًا بعد + اختيارية",
    ),
    (
        "a stored phone extension must be 1 to 10 digits",
        "التحويلة المخزَّنة من رقم إلى 10 أرقام",
    ),
    (
        "the stored phone text is empty, too long or has a control character",
        "نص الهاتف المخزَّن فارغ أو طويل أو فيه محرف تحكم",
    ),
    // Sources and lost-reason codes.
    ("it must start with a letter", "يجب أن يبدأ بحرف"),
    (
        "only letters, digits, _ and - are allowed",
        "المسموح به الحروف والأرقام و_ و- فقط",
    ),
    // E-mail.
    ("it has no @", "لا يحوي @"),
    ("it is longer than 254 characters", "أطول من 254 حرفًا"),
    ("nothing before the @", "لا شيء قبل @"),
    (
        "the domain does not end in a valid top-level domain",
        "النطاق لا ينتهي بنطاق علوي صحيح",
    ),
    (
        "the domain has a character not allowed there",
        "في النطاق محرف غير مسموح",
    ),
    (
        "the domain has an empty or over-long part",
        "في النطاق جزء فارغ أو طويل جدًا",
    ),
    ("the domain has no dot", "لا نقطة في النطاق"),
    (
        "the part before the @ has a misplaced dot",
        "في الجزء الذي قبل @ نقطة في غير موضعها",
    ),
    (
        "the part before the @ is longer than 64 characters",
        "الجزء الذي قبل @ أطول من 64 حرفًا",
    ),
    (
        "the part before the @ has a character not allowed there",
        "في الجزء الذي قبل @ محرف غير مسموح",
    ),
    // Amounts.
    ("amounts must not be negative", "لا يكون المبلغ سالبًا"),
    (
        "mixes digit sets; write every digit in one script",
        "يخلط أنواع الأرقام؛ اكتب الأرقام كلها بنوع واحد",
    ),
    ("mixes the separators , and ٬", "يخلط الفاصلتين , و٬"),
    (
        "mixes Latin and Arabic separators; use , with . or ٬ with ٫",
        "يخلط الفواصل اللاتينية والعربية؛ استعمل , مع . أو ٬ مع ٫",
    ),
    (
        "more decimal places than the currency has",
        "فيه منازل عشرية أكثر مما للعملة",
    ),
    ("more than one decimal point", "فيه أكثر من فاصلة عشرية"),
    (
        "needs a digit after the decimal point",
        "يلزم رقم بعد الفاصلة العشرية",
    ),
    (
        "needs a digit before the decimal point (write 0.5, not .5)",
        "يلزم رقم قبل الفاصلة العشرية (اكتب 0.5 لا .5)",
    ),
    ("not a decimal number", "ليس عددًا عشريًا"),
    ("too large", "كبير جدًا"),
    ("write the amount without a sign", "اكتب المبلغ بلا إشارة"),
    (
        "groups of three digits after each thousands separator",
        "ثلاثة أرقام بعد كل فاصل آلاف",
    ),
    // Lists in the configuration.
    (
        "the list is empty; a lead could never be marked lost",
        "القائمة فارغة؛ لن يمكن تسجيل أي عميل مفقودًا",
    ),
    (
        "the list is empty; no lead could be recorded",
        "القائمة فارغة؛ لن يمكن تسجيل أي عميل",
    ),
    (
        "the list is empty; no opportunity could be valued",
        "القائمة فارغة؛ لن يمكن تقييم أي فرصة",
    ),
    // Permissions.
    (
        "inactive employees may only read",
        "الموظف غير النشط يقرأ فقط",
    ),
    (
        "only sales staff and management may change anything",
        "لا يغيّر شيئًا إلا موظفو المبيعات والإدارة",
    ),
    (
        "reopening a lost lead is management's",
        "إعادة فتح عميل مفقود من صلاحيات الإدارة",
    ),
    ("this is management's", "هذا من صلاحيات الإدارة"),
    (
        "reassigning a lead that is not yours is management's",
        "إعادة إسناد عميل ليس لك من صلاحيات الإدارة",
    ),
    (
        "leads are captured by forms and mailboxes",
        "العملاء المحتملون يصلون عبر النماذج وصناديق البريد، لا يُدخلهم موظف بهذه الطريقة",
    ),
    (
        "the host did not name this capture channel",
        "لم تُعرِّف المنشأة قناة الاستقبال هذه",
    ),
    (
        "system actors may only run the sweep and the dispatch",
        "لا تشغّل الأنظمة إلا المتابعة الدورية والإرسال",
    ),
    (
        "the host did not name this system actor",
        "لم تُعرِّف المنشأة هذا النظام",
    ),
    // Signing in and passwords (crm-auth).
    ("the current password is wrong", "كلمة المرور الحالية خطأ"),
    (
        "give your current password to change it",
        "اكتب كلمة مرورك الحالية لتغييرها",
    ),
    (
        "a password has 10 to 256 characters",
        "كلمة المرور من 10 إلى 256 حرفًا",
    ),
    (
        "the employee id or the password is wrong",
        "رقم الموظف أو كلمة المرور خطأ",
    ),
    (
        "the credentials are missing, expired or revoked",
        "بيانات الدخول مفقودة أو منتهية أو ملغاة",
    ),
    // The server's own input messages.
    ("is required", "مطلوب"),
    ("no file was sent", "لم يُرسَل ملف؛ اختر ملف CSV أو Excel"),
    (
        "the form could not be read; send it again",
        "تعذّرت قراءة النموذج؛ أرسله مرة أخرى",
    ),
    ("is not an IANA time zone", "ليست منطقة زمنية معروفة"),
    ("goes without owner", "لا يجتمع مع المسؤول"),
    ("is newest or score", "إما الأحدث وإما التقييم"),
    (
        "a detail goes with a lost_reason code",
        "تفاصيل السبب تأتي مع رمز سبب الخسارة",
    ),
    ("not a sequence number", "ليس رقمًا تسلسليًا"),
    ("not a lead of this list", "ليس عميلًا من هذه القائمة"),
    ("choose an employee or a status", "اختر موظفًا أو حالة"),
    ("one change at a time", "تغيير واحد في كل مرة"),
    (
        "a conversion is confirmed one lead at a time",
        "يُؤكَّد تحويل كل عميل محتمل على حدة",
    ),
    ("is not a lead list's query", "ليست تصفية لقائمة العملاء"),
    (
        crate::api::filters::FULL,
        "لديك أقصى عدد من التصفيات المحفوظة (50)؛ احذف واحدة أولًا",
    ),
    (
        "pages the newest-first list; sort=score lists the best `limit` leads",
        "التنقل بين الصفحات للترتيب بالأحدث فقط؛ الترتيب بالتقييم يعرض الأفضل دفعة واحدة",
    ),
];

/// The server's own messages that carry a value (`invalid date "x": use YYYY-MM-DD`): the
/// English start of each, and its Arabic with the value (what follows the start, up to the
/// colon) kept.
const WITH_VALUE: &[(&str, &str)] = &[
    (
        "invalid date ",
        "التاريخ {} غير صحيح: اكتبه بالصيغة YYYY-MM-DD",
    ),
    (
        "invalid time ",
        "الوقت {} غير صحيح: اكتبه بالصيغة YYYY-MM-DDTHH:MM",
    ),
    (
        "too many failed sign-ins; try again after ",
        "محاولات دخول فاشلة كثيرة؛ حاول مرة أخرى بعد {}",
    ),
];

/// The server's own messages that end in a known way, with the value before it kept.
const ENDING: &[(&str, &str)] = &[
    (
        " MiB; split it",
        "الملف أكبر من {} ميغابايت؛ قسّمه إلى ملفات أصغر",
    ),
    (
        " is not utf-8 or windows-1256",
        "الترميز {} ليس UTF-8 ولا Windows-1256",
    ),
    (
        " is not skip, update or create",
        "{} ليس من خيارات التكرار (تخطٍّ أو تحديث أو إنشاء)",
    ),
    (
        " is not a whole percentage from 0 to 100",
        "{} ليست نسبة مئوية صحيحة من 0 إلى 100",
    ),
    (
        " (a clock change): pick another minute",
        "{} يتكرر عند تغيير الساعة: اختر دقيقة أخرى",
    ),
    (" (a clock change)", "{} لا يوجد عند تغيير الساعة"),
];

/// `reason` in `lang` (the English one when no Arabic is known: the tests keep that from
/// happening for the library's reasons and the server's own messages).
pub fn reason(lang: Lang, reason: &str) -> String {
    if lang == Lang::En {
        return reason.to_owned();
    }
    if let Some((_, ar)) = REASONS.iter().find(|(en, _)| *en == reason) {
        return (*ar).to_owned();
    }
    for (start, ar) in WITH_VALUE {
        if let Some(rest) = reason.strip_prefix(start) {
            let value = rest.split(':').next().unwrap_or_default().trim();
            return ar.replace("{}", value);
        }
    }
    for (end, ar) in ENDING {
        if let Some(head) = reason.find(end).map(|i| &reason[..i]) {
            // "2026-03-29T02:30 does not exist in Europe/Berlin": the time, then its zone.
            let value = head
                .trim_start_matches("the file is larger than ")
                .trim_start_matches("on duplicate: ")
                .split(" happens twice in ")
                .next()
                .and_then(|h| h.split(" does not exist in ").next())
                .unwrap_or(head);
            return ar.replace("{}", value);
        }
    }
    if let Some((n, range)) = reason.split_once(" is outside ") {
        return format!("{n} خارج المدى {range}");
    }
    if reason.starts_with("Failed to deserialize") {
        return "في الطلب معامل غير معروف أو قيمة لا تُقرأ".to_owned();
    }
    reason.to_owned()
}

/// The form field a library field name stands for (`next follow-up time` is the form's
/// `next_follow_up`); a request's own names as they are.
pub fn form_field(name: &str) -> &str {
    match name {
        "next follow-up time" => "next_follow_up",
        "probability (percent)" => "probability",
        other => other,
    }
}

/// A request or library field's name, as the page calls it.
pub fn field(lang: Lang, name: &str) -> String {
    let name = form_field(name);
    if lang == Lang::En {
        return name.replace('_', " ");
    }
    let ar = match name {
        "name" => "الاسم",
        "email" => "البريد الإلكتروني",
        "phone" => "الهاتف",
        "company" => "الشركة",
        "source" => "المصدر",
        "owner" => "المسؤول",
        "to" => "إلى",
        "status" => "الحالة",
        "lost_reason" => "سبب الخسارة",
        "lost_reason_detail" | "lost reason detail" => "تفاصيل السبب",
        "kind" => "النوع",
        "notes" => "الملاحظات",
        "occurred_at" => "وقت التواصل",
        "next_follow_up" => "موعد المتابعة القادم",
        "title" => "العنوان",
        "value" => "القيمة",
        "currency" => "العملة",
        "expected_close" => "تاريخ الإغلاق المتوقع",
        "probability" => "الاحتمال",
        "stage" => "المرحلة",
        "version" => "النسخة",
        "team" => "الفريق",
        "manages" => "الفرق التي يقودها",
        "manager" => "المدير",
        "employee" | "id" => "الموظف",
        "role" => "الدور",
        "password" => "كلمة المرور",
        "current_password" => "كلمة المرور الحالية",
        "from" | "created_from" | "close_from" => "من",
        "to_date" | "created_to" | "close_to" => "إلى",
        "created_from/created_to" | "close_from/close_to" => "الفترة",
        "limit" | "per_column" => "عدد النتائج",
        "mine" => "عملائي فقط",
        "sort" => "الترتيب",
        "after" => "الصفحة",
        "tz" => "المنطقة الزمنية",
        "query" => "الطلب",
        "body" => "النموذج",
        "lost reasons" => "أسباب الخسارة",
        "sources" => "المصادر",
        "currencies" => "العملات",
        other => return other.replace('_', " "),
    };
    ar.to_owned()
}

/// An id's kind (`lead`, `employee`, ...), as a page says it.
fn kind(lang: Lang, kind: &str) -> String {
    match (lang, kind) {
        (Lang::Ar, "lead" | "lead id") => "رقم العميل المحتمل".to_owned(),
        (Lang::Ar, "employee" | "employee id") => "رقم الموظف".to_owned(),
        (Lang::Ar, "opportunity" | "opportunity id") => "رقم الفرصة".to_owned(),
        (Lang::Ar, "lead status") => "الحالة".to_owned(),
        (Lang::Ar, "interaction kind") => "نوع التواصل".to_owned(),
        (Lang::Ar, "opportunity stage" | "stage with a configurable probability") => {
            "المرحلة".to_owned()
        }
        (Lang::Ar, "role") => "الدور".to_owned(),
        (Lang::Ar, "visibility") => "سياسة الرؤية".to_owned(),
        (Lang::Ar, "new sources policy") => "سياسة المصادر الجديدة".to_owned(),
        (Lang::Ar, other) => field(Lang::Ar, other),
        (Lang::En, other) => other.to_owned(),
    }
}

/// A validation error, whole, in `lang`.
pub fn validation(lang: Lang, e: &ValidationError) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    let f = |name: &str| field(lang, name);
    let r = |text: &str| reason(lang, text);
    use ValidationError as V;
    match e {
        V::Empty { field } => format!("يلزم ملء {}", f(field)),
        V::TooLong { field, max, len } => {
            format!("طول {} {len} والحد الأقصى {max}", f(field))
        }
        V::ForbiddenCharacter { field, codepoint } => {
            format!("في {} محرف غير مسموح (U+{codepoint:04X})", f(field))
        }
        V::InvalidEmail { value, reason } => {
            format!("البريد الإلكتروني «{value}» غير صحيح: {}", r(reason))
        }
        V::InvalidPhone { value, reason } => {
            format!("رقم الهاتف «{value}» غير صحيح: {}", r(reason))
        }
        V::UnknownRegion { code } => format!("رمز الدولة «{code}» غير معروف (مثل SA)"),
        V::MissingContact => "يلزم بريد إلكتروني أو رقم هاتف".to_owned(),
        V::InvalidId { kind: k, value } => format!("{} «{value}» غير صحيح", kind(lang, k)),
        V::InvalidSource { value, reason } => {
            format!("المصدر «{value}» غير صحيح: {}", r(reason))
        }
        V::UnknownName {
            kind: k,
            value,
            expected,
        } => format!("{} «{value}» غير معروف؛ المقبول: {expected}", kind(lang, k)),
        V::UnknownCurrency { code } => format!("رمز العملة «{code}» غير معروف في ISO 4217"),
        V::InvalidAmount { value, reason } => {
            format!("المبلغ «{value}» غير صحيح: {}", r(reason))
        }
        V::LostReasonRequired => "اختر سبب الخسارة".to_owned(),
        V::UnknownLostReason { code, expected } => {
            format!("سبب الخسارة «{code}» ليس في القائمة: {expected}")
        }
        V::UnlistedSource { value, expected } => {
            format!("المصدر «{value}» ليس من مصادر المنشأة: {expected}")
        }
        V::UnlistedCurrency { code, expected } => {
            format!("العملة {code} ليست من عملات المنشأة: {expected}")
        }
        V::InvalidLostReasonCode { value, reason } => {
            format!("رمز السبب «{value}» غير صحيح: {}", r(reason))
        }
        V::InvalidList { field, reason } => format!("{}: {}", f(field), r(reason)),
        V::ReasonWithoutLost => "لا يُذكر السبب إلا عند تسجيل العميل مفقودًا".to_owned(),
        V::InFuture { field, .. } => format!("{} في المستقبل", f(field)),
        V::InPast { field, .. } => format!("{} في الماضي", f(field)),
        V::InvalidRange { field } => format!("{}: البداية بعد النهاية", f(field)),
        V::OutOfRange {
            field,
            value,
            min,
            max,
        } => format!("{} {value} خارج المدى من {min} إلى {max}", f(field)),
        V::InvalidLimit(n) => format!("عدد النتائج {n} خارج المدى من 1 إلى 1000"),
        V::NothingToChange => "لم يتغير شيء".to_owned(),
        V::LastManager => "لن يبقى مدير نشط يدير الموظفين؛ عيّن مديرًا آخر أولًا".to_owned(),
        V::FirstEmployeeNotManager => "أول موظف يجب أن يكون مديرًا نشطًا، ثم يضيف الآخرين".to_owned(),
        V::OnlyManagersLeadTeams { employee } => {
            format!("لا يقود الفرق إلا المدراء؛ الموظف {employee} ليس مديرًا")
        }
        V::NoActiveSales { team } => format!("لا موظف مبيعات نشط في الفريق «{team}»"),
        V::NoTeam { employee } => {
            format!("الموظف {employee} ليس في فريق؛ سمِّ الفريق الذي تذهب إليه عملاؤه")
        }
        V::RepeatedRule { what } => format!("قاعدتا توزيع لـ{what}؛ قاعدة واحدة لكل مصدر"),
        V::RepeatedLead { id } => format!("العميل {id} مذكور أكثر من مرة"),
        V::BulkSize { count, max } => {
            format!("التغيير الجماعي من 1 إلى {max} عميلًا؛ اخترت {count}")
        }
        V::PdfTooLong { max } => {
            format!("ملف PDF يسع {max} صفًا على الأكثر؛ ضيّق التصفية أو نزّل CSV أو Excel")
        }
        // A variant added to the library later reads in English until it is said here.
        other => other.to_string(),
    }
}

/// A library error, whole, in `lang`.
pub fn crm_error(lang: Lang, e: &CrmError) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        CrmError::Validation(v) => validation(lang, v),
        CrmError::NotFound { .. } => "غير موجود".to_owned(),
        CrmError::UnknownActor(id) => format!("الموظف {id} ليس في دليل الموظفين"),
        CrmError::Forbidden { reason: r, .. } | CrmError::SystemForbidden { reason: r, .. } => {
            format!("غير مسموح: {}", reason(lang, r))
        }
        CrmError::NotConfigured(what) => format!("هذه العملية تحتاج {what}، ولم تُعدّ"),
        CrmError::AlreadyBootstrapped => {
            "في الدليل موظفون بالفعل؛ يضيف المدير الموظفين التالين".to_owned()
        }
        CrmError::InvalidTransition { from, to, allowed } => {
            let t = lang.strings();
            let allowed: Vec<&str> = (allowed.iter())
                .map(|s| t.status_label(s.as_str()))
                .collect();
            let allowed = match allowed.is_empty() {
                true => "لا شيء".to_owned(),
                false => allowed.join("، "),
            };
            format!(
                "لا يُنقل العميل من «{}» إلى «{}»؛ المسموح من «{}»: {allowed}",
                t.status_label(from.as_str()),
                t.status_label(to.as_str()),
                t.status_label(from.as_str())
            )
        }
        CrmError::ReadOnly(_) => "هذا العميل للقراءة فقط (محوَّل أو مدمج في غيره)".to_owned(),
        CrmError::MergeRefused { reason: r, .. } => {
            let why = match r {
                crm_core::MergeRefusal::SameLead => "لا يُدمج العميل في نفسه",
                crm_core::MergeRefusal::KeepMerged => "العميل المُبقى مدمج في غيره؛ ادمج في ذاك",
                crm_core::MergeRefusal::OtherMerged => "العميل المراد دمجه مدمج بالفعل",
                crm_core::MergeRefusal::OtherConverted => "لا يُدمج عميل محوَّل في غيره",
                crm_core::MergeRefusal::KeepConverted => "العميل المُبقى محوَّل وللقراءة فقط",
                _ => return e.to_string(),
            };
            format!("تعذّر الدمج: {why}")
        }
        CrmError::InvalidAssignee { employee, problem } => {
            let why = match problem {
                crm_core::AssigneeProblem::Unknown => "ليس في دليل الموظفين",
                crm_core::AssigneeProblem::Inactive => "غير نشط",
                crm_core::AssigneeProblem::NotSales => "ليس من المبيعات ولا من الإدارة",
            };
            format!("لا يكون الموظف {employee} مسؤولًا عن عميل: {why}")
        }
        CrmError::Conflict { .. } => {
            "غيّر شخص آخر هذا السجل بعد أن فتحته؛ أعد تحميل الصفحة وحاول مرة أخرى".to_owned()
        }
        CrmError::Duplicate { field: f, .. } => {
            let what = match f {
                crm_core::ContactField::Email => "بهذا البريد الإلكتروني",
                crm_core::ContactField::Phone => "بهذا الرقم",
            };
            format!(
                "يوجد عميل محتمل مفتوح {what}؛ افتحه، أو اختر «{}» إن كان شخصًا آخر",
                lang.strings().allow_duplicate
            )
        }
        CrmError::Store(_) => "تعذّر الحفظ؛ حاول مرة أخرى".to_owned(),
        CrmError::Port(_) => "تعذّر الوصول إلى نظام خارجي؛ حاول مرة أخرى".to_owned(),
        other => other.to_string(),
    }
}

/// Why an import row was refused, in `lang`.
pub fn row_error(lang: Lang, e: &RowError) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        // Every validation error names its field (`البريد الإلكتروني «x» غير صحيح`).
        RowError::Cell { error, .. } => validation(lang, error),
        RowError::NoContact => validation(lang, &ValidationError::MissingContact),
        RowError::Invalid(v) => validation(lang, v),
        RowError::Assignee { employee, problem } => crm_error(
            lang,
            &CrmError::InvalidAssignee {
                employee: *employee,
                problem: *problem,
            },
        ),
        RowError::Forbidden(r) => format!("غير مسموح: {}", reason(lang, r)),
        RowError::Gone(_) => "العميل المطابق لم يعد مفتوحًا (حُوِّل أو دُمج)".to_owned(),
        RowError::Hidden => "يطابق عميلًا مفتوحًا لا تراه (اسأل المدير عنه)".to_owned(),
        RowError::Other(text) => reason(lang, text),
        // A variant added to the library later reads in English until it is said here.
        other => other.to_string(),
    }
}

/// Why a file cannot be imported at all, in `lang` (English as the CLI says it).
pub fn file_error(lang: Lang, e: &FileError) -> String {
    if lang == Lang::En {
        return crm_config::sentence(e);
    }
    let column = |name: &str| match name {
        "phone or email" => "الهاتف أو البريد الإلكتروني".to_owned(),
        other => field(lang, other),
    };
    match e {
        FileError::NotUtf8 { offset } => format!(
            "الملف ليس بترميز UTF-8 (بايتات غير صحيحة عند الموضع {offset})؛ إن حُفظ بترميز Windows-1256 (Excel العربي) فاختر هذا الترميز"
        ),
        FileError::NotWindows1256 => {
            "الملف نص UTF-8 صحيح وليس Windows-1256: اختر ترميز UTF-8".to_owned()
        }
        FileError::NoDelimiter => {
            "تعذّرت معرفة الفاصل بين الأعمدة (جُرِّبت , ; tab |)؛ احفظ الملف CSV بالفاصلة".to_owned()
        }
        FileError::AmbiguousDelimiter(which) => {
            format!("الفاصل بين الأعمدة غير واضح ({which})؛ احفظ الملف CSV بالفاصلة")
        }
        FileError::Empty => "الملف فارغ".to_owned(),
        FileError::MissingColumn(name) => format!(
            "لا عمود لـ{} (تُطابَق العناوين بالعربية أو الإنجليزية)",
            column(name)
        ),
        FileError::DuplicateColumn(name, a, b) => {
            format!("العمودان «{a}» و«{b}» كلاهما عمود {}", column(name))
        }
        FileError::Mapping(why) => format!("ربط الأعمدة: {why}"),
        FileError::Unreadable(_) => "تعذّرت قراءة الملف؛ احفظه من جديد من برنامج الجداول".to_owned(),
        // A variant added to the library later reads in English until it is said here.
        other => crm_config::sentence(other),
    }
}

/// One field error, said in `lang` from its cause when it has one.
fn field_error(lang: Lang, e: &FieldError) -> FieldError {
    let detail = match (&e.cause, lang) {
        (_, Lang::En) => e.detail.clone(),
        (Some(v), _) => validation(lang, v),
        (None, _) => reason(lang, &e.detail),
    };
    FieldError {
        field: e.field.clone(),
        detail,
        cause: e.cause.clone(),
    }
}

/// A problem as a page shows it in `lang`: each field's error said from its cause, the
/// summary the fields' errors (each once) or else the problem's own words.
pub fn problem(lang: Lang, p: Problem) -> Problem {
    if lang == Lang::En {
        return p;
    }
    let errors: Vec<FieldError> = p.errors.iter().map(|e| field_error(lang, e)).collect();
    let detail = if errors.is_empty() {
        reason(lang, &p.detail)
    } else {
        (errors.iter())
            .map(|e| format!("{}: {}", field(lang, &e.field), e.detail))
            .collect::<Vec<_>>()
            .join("؛ ")
    };
    Problem {
        detail,
        errors,
        ..p
    }
}

/// A library error as a page shows it in `lang`.
pub fn error(lang: Lang, e: CrmError) -> Problem {
    let detail = crm_error(lang, &e);
    let p = problem(lang, Problem::from(e));
    if p.errors.is_empty() {
        Problem { detail, ..p }
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `s` has an Arabic letter.
    fn arabic(s: &str) -> bool {
        s.chars().any(|c| ('\u{0621}'..='\u{064A}').contains(&c))
    }

    /// Every reason literal the library's parsers give: `err("...")` and `reason: "..."`
    /// in the files that build validation errors, and `refuse("...")` in the permissions.
    fn library_reasons() -> Vec<String> {
        let sources = [
            include_str!("../../../crm-core/src/contact.rs"),
            include_str!("../../../crm-core/src/money.rs"),
            include_str!("../../../crm-core/src/source.rs"),
            include_str!("../../../crm-core/src/text.rs"),
            include_str!("../../../crm-core/src/lost_reason.rs"),
            include_str!("../../../crm-core/src/permissions.rs"),
        ];
        let mut found = Vec::new();
        for src in sources {
            // Only the code, not its tests.
            let code = src.split("#[cfg(test)]").next().unwrap_or_default();
            for marker in ["err(\"", "reason: \"", "refuse(\"", "Err(\""] {
                for part in code.split(marker).skip(1) {
                    if let Some(text) = part.split('"').next()
                        && text.len() > 3
                        && text.chars().any(|c| c == ' ')
                    {
                        found.push(text.to_owned());
                    }
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn every_reason_the_library_gives_is_said_in_arabic() {
        let reasons = library_reasons();
        assert!(
            reasons.len() >= 30,
            "only {} found: {reasons:?}",
            reasons.len()
        );
        let missing: Vec<_> = (reasons.iter())
            .filter(|r| !REASONS.iter().any(|(en, _)| en == r))
            .collect();
        assert!(missing.is_empty(), "no Arabic for: {missing:#?}");
        for (en, ar) in REASONS {
            assert!(arabic(ar), "{en}: {ar}");
        }
    }

    /// Every message the server itself gives, as it gives it (values filled in), reads in
    /// Arabic: a message added to the server without its Arabic fails here.
    #[test]
    fn the_servers_own_messages_read_in_arabic() {
        let samples = [
            "is required".to_owned(),
            "is not an IANA time zone".to_owned(),
            "goes without owner".to_owned(),
            "is newest or score".to_owned(),
            "a detail goes with a lost_reason code".to_owned(),
            "not a sequence number".to_owned(),
            "pages the newest-first list; sort=score lists the best `limit` leads".to_owned(),
            crm_config::parse_date("tomorrow").unwrap_err(),
            crate::input::local_time("x", chrono_tz::Asia::Riyadh).unwrap_err(),
            crate::input::local_time("2026-03-29T02:30", chrono_tz::Europe::Berlin).unwrap_err(),
            crate::input::local_time("2026-10-25T02:30", chrono_tz::Europe::Berlin).unwrap_err(),
            "150 is not a whole percentage from 0 to 100".to_owned(),
            "the file is larger than 10 MiB; split it".to_owned(),
            "\"latin1\" is not utf-8 or windows-1256".to_owned(),
            "on duplicate: \"merge\" is not skip, update or create".to_owned(),
            "the form could not be read; send it again".to_owned(),
            "0 is outside 1..=200".to_owned(),
            "Failed to deserialize query string: unknown field `x`".to_owned(),
            crate::api::filters::FULL.to_owned(),
            crate::auth::AuthError::WeakPassword.to_string(),
            crate::auth::AuthError::BadCredentials.to_string(),
            crate::auth::AuthError::Unauthenticated.to_string(),
        ];
        for m in samples {
            let said = reason(Lang::Ar, &m);
            assert!(arabic(&said), "{m:?} reads {said:?}");
        }
        assert!(
            reason(Lang::Ar, &crm_config::parse_date("tomorrow").unwrap_err()).contains("tomorrow")
        );
        // The server's own literal messages: each in the list above.
        let sources = [
            include_str!("input.rs"),
            include_str!("api/mod.rs"),
            include_str!("api/day.rs"),
            include_str!("api/leads/mod.rs"),
            include_str!("web/automation.rs"),
            include_str!("web/leads/actions.rs"),
            include_str!("api/filters.rs"),
        ];
        for src in sources {
            let code = src.split("#[cfg(test)]").next().unwrap_or_default();
            for marker in ["Err(\"", "ok_or(\"", "map_err(|_| \""] {
                for part in code.split(marker).skip(1) {
                    let text = part.split('"').next().unwrap_or_default();
                    assert!(arabic(&reason(Lang::Ar, text)), "no Arabic for {text:?}");
                }
            }
        }
    }

    /// One of each validation error; a variant added to the library without a sentence here
    /// reads in English, which this catches.
    fn every_validation_error() -> Vec<ValidationError> {
        use ValidationError as V;
        let now = chrono::Utc::now();
        vec![
            V::Empty { field: "name" },
            V::TooLong {
                field: "notes",
                max: 10,
                len: 12,
            },
            V::ForbiddenCharacter {
                field: "name",
                codepoint: 0x202e,
            },
            V::InvalidEmail {
                value: "x".into(),
                reason: "it has no @",
            },
            V::InvalidPhone {
                value: "1".into(),
                reason: "it has no digits",
            },
            V::UnknownRegion { code: "ZZ".into() },
            V::MissingContact,
            V::InvalidId {
                kind: "lead",
                value: "x".into(),
            },
            V::InvalidSource {
                value: "1".into(),
                reason: "it must start with a letter",
            },
            V::UnknownName {
                kind: "lead status",
                value: "x".into(),
                expected: "new",
            },
            V::UnknownCurrency { code: "XYZ".into() },
            V::InvalidAmount {
                value: "1,2".into(),
                reason: "not a decimal number",
            },
            V::LostReasonRequired,
            V::UnknownLostReason {
                code: "x".into(),
                expected: "price".into(),
            },
            V::UnlistedSource {
                value: "x".into(),
                expected: "web".into(),
            },
            V::UnlistedCurrency {
                code: "USD".into(),
                expected: "SAR".into(),
            },
            V::InvalidLostReasonCode {
                value: "1".into(),
                reason: "it must start with a letter",
            },
            V::InvalidList {
                field: "sources",
                reason: "x is listed twice".into(),
            },
            V::ReasonWithoutLost,
            V::InFuture {
                field: "occurred_at",
                at: now,
                now,
            },
            V::InPast {
                field: "next_follow_up",
                at: now,
                now,
            },
            V::InvalidRange {
                field: "created_from/created_to",
            },
            V::OutOfRange {
                field: "per_column",
                value: 0,
                min: 1,
                max: 200,
            },
            V::InvalidLimit(0),
            V::NothingToChange,
            V::LastManager,
            V::FirstEmployeeNotManager,
            V::OnlyManagersLeadTeams { employee: 1 },
            V::NoActiveSales {
                team: "east".into(),
            },
            V::NoTeam { employee: 1 },
            V::RepeatedRule { what: "web".into() },
            V::RepeatedLead { id: "x".into() },
            V::BulkSize { count: 0, max: 500 },
            V::PdfTooLong { max: 10 },
        ]
    }

    #[test]
    fn every_refusal_reads_in_arabic() {
        for e in every_validation_error() {
            let said = validation(Lang::Ar, &e);
            assert!(arabic(&said), "{e:?} reads {said:?}");
            assert_ne!(said, e.to_string());
            // The English sentence's words are not left in it (codes and values may be).
            for word in [
                "invalid", "must", "unknown", "expected", "outside", "reason",
            ] {
                assert!(!said.contains(word), "{e:?} reads {said:?}");
            }
        }
        let errors = [
            CrmError::NotFound {
                entity: crm_core::Entity::Lead,
                id: "x".into(),
            },
            CrmError::Conflict {
                entity: crm_core::Entity::Lead,
                id: "x".into(),
                expected: 1,
            },
            CrmError::ReadOnly(crm_core::LeadId::new_at(chrono::Utc::now())),
            CrmError::InvalidTransition {
                from: crm_core::LeadStatus::New,
                to: crm_core::LeadStatus::Converted,
                allowed: vec![crm_core::LeadStatus::Contacted],
            },
            CrmError::Duplicate {
                existing: None,
                field: crm_core::ContactField::Phone,
                ask: None,
            },
            CrmError::Forbidden {
                actor: crm_core::EmployeeId::new(1).unwrap(),
                action: crm_core::Action::ChangeStatus,
                reason: "only sales staff and management may change anything",
            },
        ];
        for e in errors {
            let said = crm_error(Lang::Ar, &e);
            assert!(
                arabic(&said) && !said.contains("forbidden"),
                "{e:?} reads {said:?}"
            );
        }
        let id = crm_core::LeadId::new_at(chrono::Utc::now());
        let rows = [
            RowError::cell(
                "email",
                ValidationError::InvalidEmail {
                    value: "x".into(),
                    reason: "it has no @",
                },
            ),
            RowError::NoContact,
            RowError::Invalid(ValidationError::UnlistedSource {
                value: "x".into(),
                expected: "web".into(),
            }),
            RowError::Assignee {
                employee: crm_core::EmployeeId::new(9).unwrap(),
                problem: crm_core::AssigneeProblem::Inactive,
            },
            RowError::Forbidden("only sales staff and management may change anything"),
            RowError::Gone(id),
            RowError::Hidden,
        ];
        for e in rows {
            let said = row_error(Lang::Ar, &e);
            assert!(arabic(&said), "{e:?} reads {said:?}");
            assert!(
                !said.contains("lead") && !said.contains("forbidden"),
                "{said}"
            );
            assert_eq!(row_error(Lang::En, &e), e.to_string());
        }
        let files = [
            FileError::NotUtf8 { offset: 3 },
            FileError::NotWindows1256,
            FileError::NoDelimiter,
            FileError::AmbiguousDelimiter(", ;".into()),
            FileError::Empty,
            FileError::MissingColumn("name"),
            FileError::MissingColumn("phone or email"),
            FileError::DuplicateColumn("phone", "جوال".into(), "Mobile".into()),
            FileError::Mapping("x".into()),
            FileError::Unreadable("broken zip".into()),
        ];
        for e in files {
            let said = file_error(Lang::Ar, &e);
            assert!(arabic(&said), "{e:?} reads {said:?}");
            for word in ["column", "file", "phone", "name"] {
                assert!(!said.contains(word), "{e:?} reads {said:?}");
            }
        }
        for (field_name, _) in [("phone", 0), ("next_follow_up", 0), ("expected_close", 0)] {
            assert!(arabic(&field(Lang::Ar, field_name)), "{field_name}");
        }
    }
}
