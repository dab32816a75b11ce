// Download File: send the Sunbird telemetry v3 INTERACT event, then submit the form as usual.
// Works without this script too (the form posts normally); only the click event is then not sent.
(function () {
  "use strict";
  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] + 256).toString(16).slice(1);
    return out;
  }
  function uuid() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = hex(b);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function attr(form, name) {
    // getAttribute, not form.dataset: the form's own field named "dataset" shadows that property.
    return form.getAttribute("data-" + name) || "";
  }
  function clickEvent(form) {
    var d = { user: attr(form, "user"), channel: attr(form, "channel"), course: attr(form, "course"),
              batch: attr(form, "batch"), dataset: attr(form, "dataset") };
    return {
      eid: "INTERACT",
      ets: Date.now(),
      ver: "3.0",
      mid: "INTERACT:" + uuid(),
      actor: { id: d.user, type: "User" },
      context: {
        channel: d.channel,
        pdata: { id: "exhaust.dashboard", ver: "1.0", pid: "course-dashboard" },
        env: "course-dashboard",
        cdata: [{ id: d.course, type: "Course" }, { id: d.batch, type: "CourseBatch" }],
        rollup: { l1: d.course }
      },
      object: { id: d.batch, type: "CourseBatch", rollup: { l1: d.course } },
      edata: { type: "CLICK", subtype: d.dataset, id: "download-file", pageid: "batch-dashboard" },
      tags: [d.channel]
    };
  }
  function send(event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var body = { id: "api.sunbird.telemetry", ver: "3.0", params: { msgid: uuid() }, ets: Date.now(), events: [event] };
    var request = fetch("/v1/telemetry", {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": meta ? meta.content : "" },
      body: JSON.stringify(body)
    });
    var timeout = new Promise(function (resolve) { setTimeout(resolve, 2000); });
    return Promise.race([request, timeout]).catch(function () {});
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.getAttribute || attr(form, "telemetry") !== "download-file" || attr(form, "sent") === "1") return;
    e.preventDefault();
    form.setAttribute("data-sent", "1");
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    send(clickEvent(form)).then(function () { form.submit(); });
  });
})();
