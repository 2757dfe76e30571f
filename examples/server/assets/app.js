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

// Boards: a card can be dragged onto a column it may move to (its data-moves). The drop
// fills in the card's own form (the list of places and the button that work by keyboard
// and without script) and submits it, so a drag is the same request with the same rules:
// a loss asks for its reason, a conversion for a confirmation.
(function () {
  var dragged = null;
  function columns() {
    return document.querySelectorAll(".board .column");
  }
  function clear() {
    columns().forEach(function (col) {
      col.classList.remove("drop-ok", "drop-over");
    });
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  }
  function target(event) {
    var col = event.target instanceof Element ? event.target.closest(".board .column") : null;
    return col && col.classList.contains("drop-ok") ? col : null;
  }
  document.addEventListener("dragstart", function (event) {
    var card = event.target instanceof Element ? event.target.closest(".board-card[draggable='true']") : null;
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
    var moves = (card.getAttribute("data-moves") || "").split(" ");
    columns().forEach(function (col) {
      if (moves.indexOf(col.getAttribute("data-status")) >= 0) col.classList.add("drop-ok");
    });
  });
  document.addEventListener("dragend", clear);
  document.addEventListener("dragover", function (event) {
    var col = target(event);
    if (dragged && col) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      col.classList.add("drop-over");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var col = target(event);
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("drop-over");
  });
  document.addEventListener("drop", function (event) {
    var col = target(event);
    if (!dragged || !col) return;
    event.preventDefault();
    var select = dragged.querySelector("form.move select");
    clear();
    if (!select) return;
    select.value = col.getAttribute("data-status");
    select.form.requestSubmit();
  });
})();
