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

  // <button data-print>: the browser's print dialog (打印 page; its @media print CSS drops the chrome).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });

  // Personnel rows: the * before 证书编号 follows the chosen type (1108, 1109, 1113 need the number).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-person-type]")) {
      return;
    }
    var option = select.options[select.selectedIndex];
    var needed = !!(option && option.hasAttribute("data-needs-cert-no"));
    var row = select.closest("tr");
    var mark = row && row.querySelector(".cert-no-mark");
    var input = row && row.querySelector("input[name$='-cert_no']");
    if (mark) { mark.hidden = !needed; }
    if (input) {
      if (needed) { input.setAttribute("aria-required", "true"); } else { input.removeAttribute("aria-required"); }
    }
  });

  // <input type=file data-max-bytes=N>: say at once that a file is too large, before it is uploaded
  // (the server refuses it too, with the same words).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) {
      return;
    }
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    var tooLarge = file && file.size > max;
    input.setCustomValidity(tooLarge ? "文件超过 " + Math.round(max / 1048576) + " MB，不是本系统签发的电子证照，请核对后重新选择" : "");
    if (tooLarge) { input.reportValidity(); }
  });

  // htmx drops 4xx/5xx answers by default, so a refusal (429 on 发送短信验证码, 403, 422, 500 …) would pass
  // unseen. One handler for all of them: the server's own Chinese message, in one alert region.
  function alertRegion() {
    var region = document.getElementById("htmx-alerts");
    if (!region) {
      region = document.createElement("div");
      region.id = "htmx-alerts";
      region.className = "htmx-alerts";
      region.setAttribute("role", "alert");
      region.setAttribute("aria-live", "assertive");
      document.body.appendChild(region);
    }
    return region;
  }

  function serverMessage(xhr) {
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    var text = xhr.responseText || "";
    if (type.indexOf("html") !== -1 && text) {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var found = doc.querySelector(".alert-danger, [role=alert], .error, .error-page p, .error-page h1");
      var words = found ? found.textContent.replace(/\s+/g, " ").trim() : "";
      if (words) {
        var heading = doc.querySelector(".error-page h1");
        return heading && found.closest(".error-page") && found !== heading
          ? heading.textContent.trim() + "：" + words : words;
      }
    } else if (type.indexOf("json") !== -1 && text) {
      try {
        var data = JSON.parse(text);
        if (data && (data.message || data.error)) { return String(data.message || data.error); }
      } catch (ignored) { /* not JSON after all: the generic words below */ }
    } else if (text && text.length < 300 && text.indexOf("<") === -1) {
      return text.trim();
    }
    return "";
  }

  function showAlert(message) {
    var region = alertRegion();
    region.textContent = "";
    var box = document.createElement("div");
    box.className = "alert alert-danger";
    var words = document.createElement("span");
    words.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link-button";
    close.textContent = "关闭";
    close.addEventListener("click", function () { region.textContent = ""; });
    box.appendChild(words);
    box.appendChild(close);
    region.appendChild(box);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var message = serverMessage(xhr);
    if (!message) {
      message = xhr.status === 429 ? "操作过于频繁，请稍后再试"
        : xhr.status >= 500 ? "服务器处理出错（" + xhr.status + "），请稍后重试；如多次出现请联系系统管理员"
          : "操作未完成（" + xhr.status + "），请刷新页面后重试";
    }
    showAlert(message);
  });
  document.addEventListener("htmx:sendError", function () {
    showAlert("网络连接失败，未能连接服务器，请检查网络后重试");
  });
  document.addEventListener("htmx:timeout", function () {
    showAlert("服务器响应超时，请稍后重试");
  });
  // A later success clears an earlier failure's words.
  document.addEventListener("htmx:afterRequest", function (event) {
    var region = document.getElementById("htmx-alerts");
    if (region && event.detail.successful) { region.textContent = ""; }
  });
}());
