//! Every label of the web UI, in Arabic (the default) and English, in one place.

/// The interface languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Arabic, right to left (the default).
    Ar,
    /// English, left to right.
    En,
}

impl Lang {
    /// From the `lang` cookie's value; anything else is Arabic.
    pub fn from_code(code: Option<&str>) -> Self {
        match code {
            Some("en") => Lang::En,
            _ => Lang::Ar,
        }
    }
    /// The BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::En => "en",
        }
    }
    /// The writing direction.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            Lang::En => "ltr",
        }
    }
    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ar => Lang::En,
            Lang::En => Lang::Ar,
        }
    }
    /// The library's exporters' and describers' name for the language.
    pub fn locale(self) -> crm_core::export::Locale {
        match self {
            Lang::Ar => crm_core::export::Locale::Ar,
            Lang::En => crm_core::export::Locale::En,
        }
    }
    /// The labels.
    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::Ar => &AR,
            Lang::En => &EN,
        }
    }
}

macro_rules! strings {
    ($($name:ident: $ar:literal, $en:literal;)*) => {
        /// The labels of one language.
        #[derive(Debug)]
        pub struct Strings {
            $(#[doc = $en] pub $name: &'static str,)*
        }
        /// Arabic.
        pub const AR: Strings = Strings { $($name: $ar,)* };
        /// English.
        pub const EN: Strings = Strings { $($name: $en,)* };
    };
}

strings! {
    app: "إدارة العملاء المحتملين", "Lead management";
    language_name: "العربية", "English";
    switch_to: "English", "العربية";
    sign_in: "تسجيل الدخول", "Sign in";
    sign_out: "تسجيل الخروج", "Sign out";
    employee_id: "رقم الموظف", "Employee id";
    password: "كلمة المرور", "Password";
    bad_credentials: "رقم الموظف أو كلمة المرور غير صحيحة", "The employee id or the password is wrong";
    locked: "محاولات كثيرة فاشلة؛ حاول مرة أخرى بعد", "Too many failed sign-ins; try again after";
    account_inactive: "هذا الحساب معطّل", "This account is deactivated";
    current_password: "كلمة المرور الحالية", "Current password";
    leads: "العملاء المحتملون", "Leads";
    new_lead: "عميل محتمل جديد", "New lead";
    edit_lead: "تعديل العميل المحتمل", "Edit lead";
    report: "التقرير", "Report";
    employees: "الموظفون", "Employees";
    api_docs: "واجهة البرمجة", "API";
    search: "بحث", "Search";
    filter: "تصفية", "Filter";
    any: "الكل", "Any";
    name: "الاسم", "Name";
    email: "البريد الإلكتروني", "Email";
    phone: "الهاتف", "Phone";
    company: "الشركة", "Company";
    source: "المصدر", "Source";
    status: "الحالة", "Status";
    owner: "المسؤول", "Owner";
    created: "أنشئ في", "Created";
    client: "العميل", "Client";
    client_pending: "لم يُنشئ نظام العملاء العميل بعد؛ تُعاد المحاولة بزر «إعادة محاولة إنشاء العملاء المعلّقين» في صفحة «المتابعة والأحداث»", "The clients system has not created the client yet; it is retried with “Retry pending client creations” on the Sweep and events page";
    lost_reason: "سبب الخسارة", "Lost reason";
    lost_reason_detail: "تفاصيل سبب الخسارة", "Lost reason detail";
    allow_duplicate: "السماح بالتكرار", "Allow a duplicate";
    save: "حفظ", "Save";
    edit: "تعديل", "Edit";
    next_page: "الصفحة التالية", "Next page";
    first_page: "الصفحة الأولى", "First page";
    no_leads: "لا يوجد عملاء محتملون مطابقون", "No leads match";
    history: "السجل", "History";
    interactions: "التواصل", "Interactions";
    opportunities: "الفرص", "Opportunities";
    time_in_status: "المدة في كل حالة", "Time in status";
    move_status: "تغيير الحالة", "Move status";
    move_to: "نقل", "Move";
    assign: "إسناد", "Assign";
    assign_to: "إسناد إلى الموظف", "Assign to employee";
    log_interaction: "تسجيل تواصل", "Log interaction";
    kind: "النوع", "Kind";
    notes: "ملاحظات", "Notes";
    occurred_at: "وقت التواصل", "When";
    by: "بواسطة", "By";
    at: "الوقت", "At";
    change: "التغيير", "Change";
    add_opportunity: "إضافة فرصة", "Add opportunity";
    title: "العنوان", "Title";
    value: "القيمة", "Value";
    currency: "العملة", "Currency";
    expected_close: "تاريخ الإغلاق المتوقع", "Expected close";
    stage: "المرحلة", "Stage";
    update: "تحديث", "Update";
    total: "المجموع", "Total";
    download_csv: "تنزيل CSV", "Download CSV";
    download_xlsx: "تنزيل Excel", "Download Excel";
    download_pdf: "تنزيل PDF", "Download PDF";
    from: "من", "From";
    to: "إلى", "To";
    role: "الدور", "Role";
    active: "نشط", "Active";
    team: "الفريق", "Team";
    leads_teams: "يقود الفرق", "Leads teams";
    manager_of: "المدير المباشر", "Manager";
    comma_separated: "مفصولة بفواصل", "separated by commas";
    save_employee: "حفظ الموظف", "Save employee";
    set_password: "تعيين كلمة المرور", "Set password";
    id: "الرقم", "Id";
    yes: "نعم", "Yes";
    no: "لا", "No";
    error: "خطأ", "Error";
    back: "رجوع", "Back";
    not_found: "الصفحة غير موجودة", "Page not found";
    read_only: "هذا العميل محوَّل وللقراءة فقط", "This lead is converted and read-only";
    saved: "تم الحفظ", "Saved";
    // Teams, automation, API tokens and follow-up dates.
    teams: "الفرق", "Teams";
    no_teams: "لا توجد فرق بعد: عيّن فريقًا لموظف", "No teams yet: give an employee a team";
    members: "الأعضاء", "Members";
    team_leads: "قادة الفريق", "Team leads";
    put_in_team: "نقل موظف إلى فريق", "Put an employee in a team";
    employee: "الموظف", "Employee";
    remove_from_team: "إخراج من الفريق", "Remove from team";
    inactive: "غير نشط", "inactive";
    automation: "المتابعة والأحداث", "Sweep and events";
    sweep_preview: "معاينة المتابعة (دون إرسال)", "Sweep preview (nothing sent)";
    sweep_nothing: "لا شيء مستحق الآن", "Nothing is due now";
    run_sweep: "تشغيل المتابعة الآن", "Run the sweep now";
    swept: "نتيجة المتابعة", "Sweep result";
    notified: "تنبيه أول تواصل", "First-contact notices";
    reminded: "تذكير بمتابعة متأخرة", "Overdue reminders";
    escalated: "تصعيد إلى المدير", "Escalations";
    failed: "فشل", "Failed";
    recipient: "المستلم", "Recipient";
    notice_first_contact: "لم يتواصل معه أحد", "Nobody contacted it";
    notice_overdue: "موعد المتابعة فات", "Follow-up time passed";
    notice_escalation: "تصعيد", "Escalation";
    notice_captured: "راسلنا العميل", "The lead wrote in";
    dispatch: "إعادة محاولة إنشاء العملاء المعلّقين", "Retry pending client creations";
    dispatched: "عملاء أنشئوا", "Clients created";
    events: "الأحداث غير المؤكدة", "Unacknowledged events";
    no_events: "لا توجد أحداث معلّقة", "No pending events";
    seq: "التسلسل", "Seq";
    event: "الحدث", "Event";
    lead: "العميل المحتمل", "Lead";
    ack_events: "تأكيد الاستلام حتى", "Acknowledge up to";
    acknowledged: "تم تأكيد", "Acknowledged";
    tokens: "مفاتيح الواجهة البرمجية", "API tokens";
    no_tokens: "لا توجد مفاتيح نشطة", "No live tokens";
    new_token: "إنشاء مفتاح", "Create a token";
    token_label: "الغرض", "Label";
    token_once: "انسخ المفتاح الآن: لن يظهر مرة أخرى", "Copy the token now: it is not shown again";
    expires: "ينتهي في", "Expires";
    revoke: "إلغاء", "Revoke";
    confirm_password: "كلمة المرور للتأكيد", "Your password, to confirm";
    next_follow_up: "موعد المتابعة القادم", "Next follow-up";
    clear_follow_up: "إلغاء موعد المتابعة", "Clear the follow-up time";
    overdue: "متأخر", "overdue";
    score: "التقييم", "Score";
    call: "اتصال", "Call";
    menu: "القائمة", "Menu";
    show: "العرض", "Show";
    all_leads: "كل العملاء المحتملين", "All leads";
    only_mine: "عملائي فقط", "Only mine";
    download_list: "تنزيل هذه القائمة", "Download this list";
    timeline: "السجل الزمني", "Timeline";
    follow_up_due: "متابعة مقررة", "Follow-up due";
    opportunity_added: "أضيفت فرصة", "Opportunity added";
    my_day: "يومي", "My day";
    day_overdue: "متابعات متأخرة", "Overdue follow-ups";
    day_today: "متابعات اليوم", "Today's follow-ups";
    day_waiting: "عملاء جدد لم يتواصل معهم أحد", "New leads nobody has contacted";
    day_closing: "صفقاتي المتوقع إغلاقها هذا الشهر", "My deals closing this month";
    day_none: "لا شيء هنا.", "Nothing here.";
    day_due: "موعد المتابعة", "Due";
    day_waited: "الانتظار", "Waiting";
    quick_actions: "إجراءات", "Actions";
    log_call: "تسجيل مكالمة", "Log a call";
    mark_contacted: "تم التواصل", "Mark contacted";
    whatsapp: "واتساب", "WhatsApp";
    score_predicted: "المتوقع من السجل", "predicted from the history";
    score_why: "الأسباب", "Why";
    sort: "الترتيب", "Sort";
    sort_newest: "الأحدث أولًا", "Newest first";
    sort_score: "الأعلى تقييمًا أولًا", "Highest score first";
    in_zone: "بتوقيت", "in";
    ev_created: "أنشئ", "created";
    ev_reassigned: "أعيد الإسناد", "reassigned";
    ev_edited: "عُدّل", "edited";
    ev_merged_from: "دُمج فيه العميل المحتمل", "merged into this lead:";
    ev_merged_into: "دُمج في العميل المحتمل", "merged into lead";
    ev_captured: "وصل عبر", "taken in by";
    by_mailbox: "صندوق البريد", "mailbox";
    by_form: "نموذج", "form";
    campaign: "الحملة", "Campaign";
    came_from: "جاء من", "came from";
    consent_given: "الموافقة", "consent";
    form_title: "تواصل معنا", "Contact us";
    form_message: "رسالتك", "Your message";
    form_send: "إرسال", "Send";
    form_honeypot: "اترك هذا الحقل فارغًا", "Leave this field empty";
    form_thanks_title: "شكرًا لك", "Thank you";
    form_thanks: "وصلتنا رسالتك، وسنتواصل معك قريبًا.", "We have your message and will be in touch soon.";
    form_confirm: "راجع بياناتك ثم اضغط «إرسال» لتأكيد طلبك.", "Check your details, then press Send to confirm.";
    form_required: "هذا الحقل مطلوب", "This field is required";
    form_no_contact: "اكتب بريدك الإلكتروني أو رقم جوالك لنتواصل معك", "Give an e-mail or a phone so we can reach you";
    form_no_consent: "الموافقة مطلوبة لإرسال الطلب", "Consent is needed to send this";
    form_too_long: "النص أطول من المسموح", "This is longer than allowed";
    form_invalid: "القيمة غير صحيحة", "This does not read";
    form_too_many: "وصلتنا طلبات كثيرة من هذا العنوان؛ حاول بعد قليل", "Too many submissions from this address; try again shortly";
    form_other_site: "هذا النموذج لا يُرسَل من هذا الموقع", "This form does not take submissions from this site";
    form_unknown: "لا يوجد نموذج بهذا الاسم", "There is no form by this name";
    nav_forms: "نماذج الموقع", "Web forms";
    forms_intro: "كل نموذج يصل طلبه عميلًا محتملًا لفريقه. انسخ الرمز إلى صفحة في موقعك، أو أرسل رابط صفحة النموذج.", "Each form's submissions become leads for its team. Paste the code into a page of your website, or share the link to the form's page.";
    forms_none: "لا نماذج بعد: تُعرِّفها الإدارة في ملف الإعدادات.", "No forms yet: they are defined in the configuration (forms).";
    forms_page: "صفحة النموذج", "Form page";
    forms_snippet: "الرمز للصق في موقعك", "Code to paste into your website";
    forms_team: "الفريق", "Team";
    forms_origins: "المواقع المسموح لها", "Websites allowed";
    merged_into_note: "دُمج هذا العميل المحتمل في", "This lead was merged into";
    nav_duplicates: "التكرارات", "Duplicates";
    dup_title: "العملاء المحتملون المكررون", "Duplicate leads";
    dup_none: "لا توجد تكرارات", "No duplicate leads";
    dup_fuzzy: "طابق الأسماء داخل الشركة نفسها", "Match names within the same company";
    dup_by_email: "البريد نفسه", "Same email";
    dup_by_phone: "الجوال نفسه", "Same phone";
    dup_by_name: "الاسم نفسه في الشركة نفسها", "Same name, same company";
    dup_keep: "أبقِ", "Keep";
    dup_merge_away: "وادمج فيه", "and merge into it";
    dup_merge: "دمج", "Merge";
    dup_merged: "تم الدمج", "Merged";
    time_zone: "المنطقة الزمنية", "Time zone";
    nav_import: "استيراد", "Import";
    imp_title: "استيراد العملاء المحتملين من ملف", "Import leads from a file";
    imp_file: "الملف (CSV أو XLSX)", "File (CSV or XLSX)";
    imp_help: "صف العناوين أولاً (بالعربية أو الإنجليزية: الاسم، البريد، الجوال، الشركة، المصدر، ملاحظات)، ثم عميل محتمل في كل صف. الحد الأقصى بالميغابايت:", "A header row first (Arabic or English: name, email, phone, company, source, notes), then one lead per row. Largest file, MiB:";
    imp_on_duplicate: "الصف المطابق لعميل محتمل مفتوح", "A row matching an open lead";
    imp_skip: "يُتجاوز", "is skipped";
    imp_update: "يُحدِّث ذلك العميل المحتمل", "updates that lead";
    imp_create: "يُنشأ على أي حال", "is created anyway";
    imp_encoding: "ترميز ملف CSV", "CSV encoding";
    imp_preview: "معاينة", "Preview";
    imp_preview_title: "المعاينة: لم يُكتب شيء بعد", "Preview: nothing is written yet";
    imp_confirm: "استورد هذا الملف", "Import this file";
    imp_result_title: "نتيجة الاستيراد", "Import result";
    imp_row: "الصف", "Row";
    imp_result: "النتيجة", "Result";
    imp_detail: "التفاصيل", "Detail";
    imp_created: "أُنشئ", "created";
    imp_updated: "حُدِّث", "updated";
    imp_skipped: "تُجووز", "skipped";
    imp_failed: "رُفض", "failed";
    imp_would_create: "سيُنشأ", "would create";
    imp_would_update: "سيُحدِّث", "would update";
    imp_would_skip: "سيُتجاوز", "would skip";
    imp_ignored: "أعمدة لم تُستخدم", "Columns left out";
    imp_errors_csv: "تنزيل الصفوف المرفوضة (CSV)", "Download the refused rows (CSV)";
    imp_again: "استيراد ملف آخر", "Import another file";
    // The pipeline and the stage probabilities.
    pipeline: "خط المبيعات", "Pipeline";
    pipeline_title: "قيمة خط المبيعات", "Pipeline value";
    pipeline_none: "لا توجد فرص مطابقة", "No opportunities match";
    pipeline_currency_note: "لكل عملة مجاميعها؛ لا تُجمع المبالغ بين العملات", "Each currency has its own totals; amounts are never added across currencies";
    close_from: "الإغلاق من", "Closing from";
    close_to: "الإغلاق حتى", "Closing until";
    owner_id: "رقم المسؤول", "Owner id";
    open_count: "مفتوحة", "Open";
    open_value: "قيمة المفتوحة", "Open value";
    weighted_value: "القيمة المرجحة", "Weighted value";
    won_count: "مكسوبة", "Won";
    won_value: "قيمة المكسوبة", "Won value";
    lost_count: "خاسرة", "Lost";
    lost_value: "قيمة الخاسرة", "Lost value";
    by_owner: "حسب المسؤول", "By owner";
    by_stage: "حسب المرحلة", "By stage";
    by_month: "حسب شهر الإغلاق", "By close month";
    close_month: "شهر الإغلاق", "Close month";
    stage_probabilities: "احتمال الفوز لكل مرحلة", "Probability of each stage";
    stage_fixed_note: "المكسوبة تُحتسب ١٠٠٪ والخاسرة ٠٪ دائمًا", "Won counts 100% and lost 0%, always";
    probability: "الاحتمال (٪)", "Probability (%)";
    default_probability: "الافتراضي (٪)", "Default (%)";
    set_by: "عيّنه", "Set by";
    set_probability: "تعيين", "Set";
    probability_history: "سجل تغييرات الاحتمال", "Probability changes";
    board: "اللوحة", "Board";
    saved_filters: "تصفياتي المحفوظة", "My saved filters";
    no_saved_filters: "لا شيء بعد", "none yet";
    save_filter_as: "احفظ هذه التصفية باسم", "Save this filter as";
    delete: "احذف", "Delete";
    contact: "التواصل", "Contact";
    leads_total: "عدد العملاء المحتملين المطابقين", "Leads matching";
    sort_column: "حسب العمود المختار", "By the chosen column";
    select_lead: "اختر", "Select";
    bulk: "تغيير المختارين", "Change the selected";
    bulk_assign: "أسندهم إلى", "Assign them to";
    bulk_status: "انقلهم إلى", "Move them to";
    bulk_apply: "نفّذ على المختارين", "Apply to the selected";
    bulk_done: "تغيّر", "Changed";
    bulk_failed: "لم يتغيّر", "Not changed";
    invalid_request: "لم يُنفَّذ شيء؛ في الطلب ما يلزم تصحيحه:", "Nothing was done; the request needs correcting:";
    fix_fields: "لم يُحفظ شيء؛ صحّح الحقول المعلّمة أدناه.", "Nothing was saved; correct the fields marked below.";
    digits_switch: "الأرقام: ١٢٣ / 123", "Digits: 123 / ١٢٣";
    chart_by_status: "العملاء المحتملون حسب الحالة", "Leads by status";
    chart_by_source: "العملاء المحتملون حسب المصدر", "Leads by source";
    chart_open_by_stage: "قيمة الفرص المفتوحة حسب المرحلة", "Open value by stage";
    report_status_source: "الحالة × المصدر", "Status × source";
    lost_reasons: "أسباب الخسارة", "Lost reasons";
    share: "النسبة", "Share";
    leads_count: "عدد العملاء المحتملين", "Leads";
    average_time: "متوسط المدة", "Average time";
    overall: "الإجمالي", "Overall";
    by_owner_source: "حسب المسؤول والمصدر", "By owner and source";
    owner_auto: "تلقائي: حسب قواعد التوزيع، وإلا أنا", "Automatic: the assignment rules, else me";
    anyone: "الكل", "Anyone";
    confirm_remove: "إخراجه من الفريق؟ سيتوقف عن رؤية عملاء الفريق وعن تلقّي توزيعاته.", "Take them out of the team? They stop seeing its leads and receiving its assignments.";
    confirm_remove_button: "نعم، أخرجه", "Yes, take them out";
    lead_board: "العملاء المحتملون حسب الحالة", "Leads by status";
    deal_board: "الفرص حسب المرحلة", "Deals by stage";
    board_empty: "لا بطاقات", "No cards";
    board_more: "عرض الكل", "Show all";
    move_card: "انقل إلى", "Move to";
    move_button: "نقل", "Move";
    choose: "اختر…", "Choose…";
    board_drag_hint: "اسحب بطاقة إلى عمود، أو اختر الحالة من قائمتها واضغط «نقل».", "Drag a card to a column, or pick its new place from its list and press Move.";
    card_value: "قيمة الفرص المفتوحة", "Open deals' value";
    confirm_convert_title: "تحويل العميل المحتمل إلى عميل", "Convert the lead to a client";
    confirm_convert_text: "سيُنشأ عميل واحد في نظام العملاء، ويصبح هذا العميل المحتمل للقراءة فقط. لا يمكن التراجع عن ذلك.", "One client will be created in the clients system and this lead becomes read-only. This cannot be undone.";
    confirm_convert: "نعم، حوّله إلى عميل", "Yes, convert it";
    cancel: "إلغاء", "Cancel";
    lost_title: "لماذا فُقد هذا العميل المحتمل؟", "Why was this lead lost?";
    mark_lost: "سجّله مفقودًا", "Mark it lost";
    no_changes: "لم يُغيَّر أي احتمال بعد", "No probability was changed yet";
    probability_override: "احتمال خاص بالفرصة (٪، فارغ: احتمال المرحلة)", "Deal's own probability (%, blank: the stage's)";
}

impl Strings {
    /// A lead status's label.
    pub fn status_label(&self, s: &str) -> &'static str {
        let ar = std::ptr::eq(self, &AR);
        match (s, ar) {
            ("new", true) => "جديد",
            ("contacted", true) => "تم التواصل",
            ("interested", true) => "مهتم",
            ("converted", true) => "محوَّل",
            ("lost", true) => "مفقود",
            ("new", false) => "New",
            ("contacted", false) => "Contacted",
            ("interested", false) => "Interested",
            ("converted", false) => "Converted",
            ("lost", false) => "Lost",
            _ => "?",
        }
    }

    /// A source's label: the built-in sources in the page's language, a host's own as it
    /// is named.
    pub fn source_label(&self, s: &str) -> String {
        let ar = std::ptr::eq(self, &AR);
        let label = match (s, ar) {
            ("web", true) => "الموقع الإلكتروني",
            ("referral", true) => "إحالة",
            ("phone", true) => "اتصال هاتفي",
            ("email", true) => "بريد إلكتروني",
            ("event", true) => "فعالية",
            ("other", true) => "أخرى",
            ("web", false) => "Website",
            ("referral", false) => "Referral",
            ("phone", false) => "Phone",
            ("email", false) => "E-mail",
            ("event", false) => "Event",
            ("other", false) => "Other",
            _ => return s.to_owned(),
        };
        label.to_owned()
    }

    /// A lost-reason code's label: the library's default codes in the page's language, a
    /// host's own as it is named.
    pub fn reason_label(&self, code: &str) -> String {
        crm_core::export::lost_reason_label(code, self.locale()).into_owned()
    }

    /// The library's locale for these labels.
    pub fn locale(&self) -> crm_core::export::Locale {
        match std::ptr::eq(self, &AR) {
            true => crm_core::export::Locale::Ar,
            false => crm_core::export::Locale::En,
        }
    }

    /// What an import row did (`dry_run`: would do).
    pub fn import_result(&self, result: &str, dry_run: bool) -> &'static str {
        match (result, dry_run) {
            ("created", false) => self.imp_created,
            ("updated", false) => self.imp_updated,
            ("skipped", false) => self.imp_skipped,
            ("created", true) => self.imp_would_create,
            ("updated", true) => self.imp_would_update,
            ("skipped", true) => self.imp_would_skip,
            _ => self.imp_failed,
        }
    }

    /// Why an import row was skipped.
    pub fn skip_label(&self, reason: crm_core::SkipReason) -> &'static str {
        use crm_core::SkipReason as R;
        let (en, ar) = match reason {
            R::Duplicate => ("matches an open lead", "يطابق عميلًا مفتوحًا"),
            R::AlreadyImported => (
                "imported by an earlier run of this file",
                "استُورد في مرة سابقة من الملف نفسه",
            ),
            R::Unchanged => (
                "nothing new for the lead it matches",
                "لا جديد فيه للعميل المطابق",
            ),
        };
        if std::ptr::eq(self, &AR) { ar } else { en }
    }

    /// A time zone as the zone menu names it: the offered zones by their city in Arabic,
    /// any other (and every zone in English) by its IANA name.
    pub fn zone_label<'z>(&self, zone: &'z str) -> &'z str {
        let ar = std::ptr::eq(self, &AR);
        let label = match zone {
            "Asia/Riyadh" => ("Asia/Riyadh", "الرياض"),
            "Asia/Dubai" => ("Asia/Dubai", "دبي"),
            "Asia/Kuwait" => ("Asia/Kuwait", "الكويت"),
            "Asia/Qatar" => ("Asia/Qatar", "الدوحة"),
            "Asia/Bahrain" => ("Asia/Bahrain", "المنامة"),
            "Asia/Muscat" => ("Asia/Muscat", "مسقط"),
            "Africa/Cairo" => ("Africa/Cairo", "القاهرة"),
            "Asia/Amman" => ("Asia/Amman", "عمّان"),
            "Europe/London" => ("Europe/London", "لندن"),
            "UTC" => ("UTC", "التوقيت العالمي (UTC)"),
            other => return other,
        };
        if ar { label.1 } else { label.0 }
    }

    /// An event type's label (`lead_created`, as [`crm_core::EventKind::name`] names it).
    pub fn event_label<'n>(&self, name: &'n str) -> &'n str {
        let ar = std::ptr::eq(self, &AR);
        let (en, arabic) = match name {
            "lead_created" => ("Lead created", "أُنشئ عميل محتمل"),
            "lead_edited" => ("Lead edited", "عُدِّل عميل محتمل"),
            "lead_assigned" => ("Lead assigned", "أُسند عميل محتمل"),
            "status_changed" => ("Status changed", "تغيّرت الحالة"),
            "lead_converted" => ("Lead converted", "حُوِّل إلى عميل"),
            "interaction_logged" => ("Interaction logged", "سُجِّل تواصل"),
            "opportunity_created" => ("Opportunity created", "أُضيفت فرصة"),
            "opportunity_updated" => ("Opportunity updated", "عُدِّلت فرصة"),
            "lead_merged" => ("Leads merged", "دُمج عميلان"),
            "score_changed" => ("Score changed", "تغيّر التقييم"),
            other => return other,
        };
        if ar { arabic } else { en }
    }

    /// An interaction kind's label.
    pub fn kind_label(&self, k: &str) -> &'static str {
        let ar = std::ptr::eq(self, &AR);
        match (k, ar) {
            ("call", true) => "مكالمة",
            ("visit", true) => "زيارة",
            ("follow_up", true) => "متابعة",
            ("email", true) => "بريد إلكتروني",
            ("meeting", true) => "اجتماع",
            ("note", true) => "ملاحظة",
            ("call", false) => "Call",
            ("visit", false) => "Visit",
            ("follow_up", false) => "Follow-up",
            ("email", false) => "Email",
            ("meeting", false) => "Meeting",
            ("note", false) => "Note",
            _ => "?",
        }
    }

    /// An opportunity stage's or a role's label.
    pub fn word(&self, w: &str) -> &'static str {
        let ar = std::ptr::eq(self, &AR);
        match (w, ar) {
            ("open", true) => "مفتوحة",
            ("qualified", true) => "مؤهلة",
            ("proposal", true) => "عرض سعر",
            ("negotiation", true) => "تفاوض",
            ("won", true) => "رابحة",
            ("lost", true) => "خاسرة",
            ("sales", true) => "مبيعات",
            ("manager", true) => "مدير",
            ("other", true) => "أخرى",
            ("open", false) => "Open",
            ("qualified", false) => "Qualified",
            ("proposal", false) => "Proposal",
            ("negotiation", false) => "Negotiation",
            ("won", false) => "Won",
            ("lost", false) => "Lost",
            ("sales", false) => "Sales",
            ("manager", false) => "Manager",
            ("other", false) => "Other",
            _ => "?",
        }
    }
}

/// The stable names the select boxes offer.
pub const STATUSES: &[&str] = &["new", "contacted", "interested", "converted", "lost"];
/// Interaction kinds.
pub const KINDS: &[&str] = &["call", "visit", "follow_up", "email", "meeting", "note"];
/// Opportunity stages.
pub const STAGES: &[&str] = &[
    "open",
    "qualified",
    "proposal",
    "negotiation",
    "won",
    "lost",
];
/// Employee roles.
pub const ROLES: &[&str] = &["sales", "manager", "other"];

/// A decimal amount (`1250000.500`, as [`crm_core::Money::format_amount`] writes it) with
/// its whole part grouped by thousands (`1,250,000.500`): read at a glance, and still the
/// one form the amount parser takes back.
pub fn grouped(amount: &str) -> String {
    let (whole, fraction) = match amount.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (amount, None),
    };
    let digits: Vec<char> = whole.chars().collect();
    let mut out = String::with_capacity(amount.len() + digits.len() / 3);
    for (i, d) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*d);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `text` with its ASCII digits written as Arabic-Indic ones, and a `,` or `.` between two
/// digits as the Arabic thousands (`٬`) and decimal (`٫`) separators.
pub fn arabic_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    (chars.iter().enumerate())
        .map(|(i, ch)| match ch {
            '0'..='9' => char::from_u32(0x0660 + (*ch as u32 - '0' as u32)).unwrap_or(*ch),
            ',' if i > 0 && digit(i - 1) && digit(i + 1) => '\u{066C}',
            '.' if i > 0 && digit(i - 1) && digit(i + 1) => '\u{066B}',
            other => *other,
        })
        .collect()
}

/// How long `d` lasted, in days, hours and minutes, as the language says it
/// ([`crm_core::export::duration_label`], which the exports write too).
pub fn duration(lang: Lang, d: chrono::TimeDelta) -> String {
    crm_core::export::duration_label(d, lang.locale())
}

#[cfg(test)]
mod tests {
    #[test]
    fn arabic_digits_keep_the_amount_readable_by_the_parser() {
        assert_eq!(super::arabic_digits("1,250.500 KWD"), "١٬٢٥٠٫٥٠٠ KWD");
        assert_eq!(super::arabic_digits("3 (50%)"), "٣ (٥٠%)");
        assert_eq!(super::arabic_digits("a, b."), "a, b.");
        let kwd = crm_core::Currency::parse("KWD").unwrap();
        let m = crm_core::Money::parse(&super::arabic_digits("1,250.500"), kwd).unwrap();
        assert_eq!(m.minor(), 1_250_500);
    }

    #[test]
    fn every_default_lost_reason_and_built_in_source_has_a_label() {
        for lang in [super::Lang::Ar, super::Lang::En] {
            let t = lang.strings();
            for code in crm_core::LostReasons::DEFAULT {
                assert_ne!(t.reason_label(code), code, "{code}");
            }
            for source in crm_core::Source::BUILT_IN {
                assert_ne!(t.source_label(source), source, "{source}");
            }
        }
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(super::grouped("0.500"), "0.500");
        assert_eq!(super::grouped("999.00"), "999.00");
        assert_eq!(super::grouped("1000.00"), "1,000.00");
        assert_eq!(super::grouped("482000.50"), "482,000.50");
        assert_eq!(super::grouped("1250000.500"), "1,250,000.500");
        assert_eq!(super::grouped("12"), "12");
        // What it writes the amount parser reads back as the same amount.
        let kwd = crm_core::Currency::parse("KWD").unwrap();
        let m = crm_core::Money::parse(&super::grouped("1250000.500"), kwd).unwrap();
        assert_eq!(m.minor(), 1_250_000_500);
    }

    use chrono::TimeDelta;

    use super::{Lang, duration};

    #[test]
    fn every_offered_zone_and_every_event_type_has_an_arabic_label() {
        let ar = Lang::Ar.strings();
        let arabic = |s: &str| s.chars().any(|c| ('\u{0621}'..='\u{064A}').contains(&c));
        for zone in crate::web::ZONES {
            assert!(arabic(ar.zone_label(zone)), "{zone}");
            assert_eq!(Lang::En.strings().zone_label(zone), *zone);
        }
        let names = [
            "lead_created",
            "lead_edited",
            "lead_assigned",
            "status_changed",
            "lead_converted",
            "interaction_logged",
            "opportunity_created",
            "opportunity_updated",
            "lead_merged",
            "score_changed",
        ];
        for name in names {
            assert!(arabic(ar.event_label(name)), "{name}");
        }
        // Every event type the library names: a new one fails until it is labelled.
        let source = include_str!("../../../crm-core/src/events.rs");
        let named = source.matches(" => \"").count();
        assert_eq!(named, names.len(), "an event type without a label here");
        assert_eq!(
            ar.zone_label("Asia/Tokyo"),
            "Asia/Tokyo",
            "unknown: as named"
        );
    }

    #[test]
    fn durations_read_in_days_hours_and_minutes() {
        let d = |days, hours, mins| {
            TimeDelta::days(days) + TimeDelta::hours(hours) + TimeDelta::minutes(mins)
        };
        assert_eq!(duration(Lang::Ar, d(2, 3, 5)), "يومان و3 ساعات و5 دقائق");
        assert_eq!(duration(Lang::Ar, d(1, 1, 0)), "يوم واحد وساعة واحدة");
        assert_eq!(duration(Lang::Ar, d(12, 0, 30)), "12 يومًا و30 دقيقة");
        assert_eq!(duration(Lang::Ar, d(0, 0, 0)), "أقل من دقيقة");
        assert_eq!(duration(Lang::En, d(2, 3, 5)), "2 days 3 h 5 min");
        assert_eq!(duration(Lang::En, d(1, 0, 0)), "1 day");
        assert_eq!(
            duration(Lang::En, TimeDelta::seconds(30)),
            "less than a minute"
        );
    }
}
