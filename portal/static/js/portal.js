/* 证照管理系统: the portal's own behaviour, as event listeners on the document.
   The Content-Security-Policy runs no inline script, no on… attribute and no eval (hx-on, js:),
   so whatever a page needs beyond plain HTML and htmx attributes is declared by data-… attributes here. */
(function () {
  "use strict";

  // <form data-confirm="问题">: ask first. Capture phase, so a refusal stops htmx and the browser alike.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // <form data-disable-on-submit>: one click, one submission. The buttons are disabled after the event
  // so that the clicked button's name=value is still part of the submission.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented || !event.target.hasAttribute("data-disable-on-submit")) {
      return;
    }
    event.target.querySelectorAll("button[type=submit]").forEach(function (button) {
      setTimeout(function () { button.disabled = true; }, 0);
    });
  });

  // <button hx-get=… data-next-person-index="#rows">: the request carries index = the next free row
  // index, rows being named persons-<index>-<field>.
  document.addEventListener("htmx:configRequest", function (event) {
    var rows = event.detail.elt.getAttribute("data-next-person-index");
    if (!rows) {
      return;
    }
    var max = -1;
    document.querySelectorAll(rows + " select[name^='persons-']").forEach(function (select) {
      max = Math.max(max, parseInt(select.name.split("-")[1], 10));
    });
    event.detail.parameters.index = max + 1;
  });
}());
