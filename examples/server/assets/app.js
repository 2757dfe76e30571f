// The pages' own behaviour, served from this site so that the content policy allows no
// inline script or event handler (crm-server's CONTENT_SECURITY_POLICY). Every form works
// without it; it only saves a click.
"use strict";

// A list marked data-submit sends its form as soon as a choice is made (the time zone).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-submit") && el.form) {
    el.form.submit();
  }
});

// A link marked data-back goes back a page when there is one; its href is the way
// without script.
document.addEventListener("click", function (event) {
  var link = event.target instanceof Element ? event.target.closest("a[data-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
