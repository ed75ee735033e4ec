/* debatebox comment widget. Reference: docs/embedding.md */
(function () {
"use strict";
if (window.DebateBox) return;

const CSS = "__DEBATEBOX_CSS__";
const VERSION = "__DEBATEBOX_VERSION__";

// English strings, from i18n/en.json at serve time; catalogs in i18n/<lang>.json use the
// same keys (plurals by Intl.PluralRules).
const EN = "__DEBATEBOX_EN__";

const script = document.currentScript || document.querySelector("script[src*='/embed.js']");
const BASE = script ? script.src.replace(/\/embed\.js([?#].*)?$/, "") : "";
const API = BASE + "/api/";
// Pointing at or focusing a comment's header makes its exact times (titles).
const EVENTS = ["click", "submit", "input", "pointerover", "focusin"];
const DAY = 864e5;
const REASONS = ["spam", "abuse", "off-topic", "other"];
const boxes = new Map();
const translators = {};
let config = null;
let uid = 0;

// Elements are built with setAttribute/append only; children may be nodes or text.
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (v != null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) if (c != null && c !== false) e.append(c);
  return e;
}

// Buttons name their action in data-a; the shadow root handles every click.
function button(action, text, attrs) {
  return h("button", Object.assign({ type: "button", "data-a": action }, attrs), text);
}

// Links and pictures only to http(s) addresses: a URL that starts "http:" or "https:" has that scheme.
const web = (url) => (/^https?:/i.test(url) ? url : null);

function load(key) {
  try {
    return JSON.parse(localStorage.getItem("debatebox|" + key));
  } catch (e) {
    return null;
  }
}

function store(key, value) {
  try {
    const k = "debatebox|" + key;
    if (value == null) localStorage.removeItem(k);
    else if (localStorage.getItem(k) != (value = JSON.stringify(value))) localStorage.setItem(k, value);
  } catch (e) {
    // storage off or full
  }
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join("");
}

// → {s: status or 0 when offline, d: JSON, wait: Retry-After}
async function api(path, method, body, headers) {
  const init = { method: method || "GET", headers: headers || {}, mode: "cors", credentials: "omit" };
  if (body) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  try {
    const r = await fetch(API + path, init);
    const d = await r.json().catch(() => null);
    return { s: r.status, d: d || {}, wait: +r.headers.get("Retry-After") || 0 };
  } catch (e) {
    return { s: 0, d: {} };
  }
}

function getConfig() {
  return config || (config = api("config").then((r) => (r.s == 200 ? r.d : (config = null))));
}

function langOf(el, o) {
  const l = ((o && o.lang) || el.getAttribute("data-debatebox-lang") || document.documentElement.lang || "en")
    .split("-")[0]
    .toLowerCase();
  return /^[a-z]{2}$/.test(l) ? l : "en";
}

const UNITS = [["year", 31536e3], ["month", 2592e3], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

function translator(lang) {
  if (!translators[lang]) {
    const catalog =
      lang == "en"
        ? Promise.resolve({})
        : fetch(BASE + "/i18n/" + lang + ".json", { mode: "cors", credentials: "omit" })
            .then((r) => (r.ok ? r.json() : {}))
            .catch(() => ({}));
    translators[lang] = catalog.then((cat) => {
      cat = cat || {};
      const en = lang == "en";
      const plural = new Intl.PluralRules(lang);
      const rel = new Map();
      let nf, rtf, dtf;
      // English needs no Intl number or relative-time format, and writes what they would
      // write: the first of those in a page costs Chromium 10-25 ms (it lists every locale).
      const num = (n) => (en ? String(n).replace(/\B(?=(\d{3})+$)/g, ",") : (nf = nf || new Intl.NumberFormat(lang)).format(n));
      // A past value v (<= 0) of a unit of size seconds, as RelativeTimeFormat's numeric: "auto".
      const relative = (v, unit, size) =>
        !en ? (rtf = rtf || new Intl.RelativeTimeFormat(lang, { numeric: "auto" })).format(v, unit)
        : !v ? "now"
        : v == -1 && size > 3600 ? (size == 86400 ? "yesterday" : "last " + unit)
        : num(-v) + " " + unit + (v == -1 ? "" : "s") + " ago";
      const t = (key, vars) => {
        vars = vars || {};
        let s = cat[key] != null ? cat[key] : EN[key];
        if (s && typeof s == "object") s = s[plural.select(vars.n)] || s.other || EN[key].other;
        return s == null
          ? ""
          : String(s).replace(/\{(\w+)\}/g, (m, k) =>
              vars[k] == null ? m : typeof vars[k] == "number" ? num(vars[k]) : vars[k]);
      };
      // "3 minutes ago" for a time in ms, made once per value and unit; the exact time
      // (a title) only when a reader asks for it.
      t.ago = (ms) => {
        const s = Math.min(0, (ms - Date.now()) / 1e3);
        const [unit, size] = UNITS.find((u) => -s >= u[1]) || UNITS[6];
        const v = Math.round(s / size);
        const k = v + unit;
        return rel.get(k) || rel.set(k, relative(v, unit, size)).get(k);
      };
      t.exact = (s) => (dtf = dtf || new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" })).format(new Date(s));
      return t;
    });
  }
  return translators[lang];
}

function create(el, opts) {
  const o = opts || {};
  const attr = (name) => el.getAttribute("data-debatebox-" + name);
  const key = String((o.thread != null ? o.thread : attr("thread")) || "").trim() || location.pathname;
  const title = String(o.title || attr("title") || document.title || "").slice(0, 300);
  const pageUrl = o.url || location.href.split("#")[0];
  const theme = o.theme || attr("theme");
  const limit = parseInt(o.pageSize || attr("page-size"), 10) || null;
  const wantDepth = parseInt(o.maxDepth != null ? o.maxDepth : attr("max-depth"), 10);
  const lang = langOf(el, o);
  const id = "db" + ++uid;
  const S = BASE + "|" + key + "|";
  const byId = new Map();
  const tpl = {};
  // Avatars get their src when they come near the viewport.
  const avatars = new WeakMap();
  const io = new IntersectionObserver((es) => {
    for (const { target: x, isIntersecting } of es) if (isIntersecting) io.unobserve(x), (x.src = avatars.get(x));
  }, { rootMargin: "1250px" });
  const timers = [];
  let sort = /^(oldest|newest)$/.test(o.sort || attr("sort")) ? o.sort || attr("sort") : null;
  let t, cfg, sr, cap, cursor, count, closed, dead, busy, loading, previewTimer;
  let bodies, head, slot, bar, note, list, moreBtn, alert, live, form, subForm, parentId = 0, sig, idemKey, carry = {};
  let owns = (load(S + "mine") || []).filter((m) => m.keep > Date.now());
  // Comments this browser reported: no second Report button.
  const reported = new Set(load(S + "rep"));
  const root = h("div", { class: "db", "data-theme": /^(dark|light)$/.test(theme) ? theme : "auto", lang });

  const saveOwns = () => store(S + "mine", owns);
  const token = (cid) => owns.find((m) => m.id == cid && m.exp > Date.now());
  const drafts = () => load(S + "drafts") || {};
  const inputs = { __proto__: null };
  const field = (n) => inputs[n];
  const find = (cid) => sr.getElementById("comment-" + cid);
  const idOf = (li) => +li.id.slice(8);
  const ref = (c) => ({ id: c.id, author: c.author, label: c.label });

  function attach() {
    if (!sr) {
      // The widget replaces a server-rendered (no-JS) form; what was typed in it moves over.
      for (const f of el.querySelectorAll("form")) {
        carry = Object.fromEntries(new FormData(f));
        f.remove();
      }
      try {
        sr = el.shadowRoot || el.attachShadow({ mode: "open" });
      } catch (e) {
        sr = el.appendChild(h("div")).attachShadow({ mode: "open" });
      }
      for (const type of EVENTS) sr.addEventListener(type, on);
    }
    if (root.parentNode != sr) sr.replaceChildren(h("style", null, CSS), root);
  }

  function say(text) {
    live.textContent = "";
    setTimeout(() => (live.textContent = text), 100);
  }

  function errText(r) {
    if (!r.s) return t("err_network");
    if (r.s == 429) return t("err_rate_limited", { n: r.wait || 60 });
    if (r.s >= 500) return t("err_server");
    return (r.s != 422 && t("err_" + r.d.error)) || r.d.message || t("err_server");
  }

  function page(from) {
    const q = { thread: key, sort, limit, cursor: from, html: "joined" };
    return api("comments?" + new URLSearchParams(Object.entries(q).filter((e) => e[1] != null)));
  }

  async function start() {
    const pageP = page(null);
    t = await translator(lang);
    if (!el.children.length || sr) {
      attach();
      root.replaceChildren(h("p", { class: "db-note" }, t("loading")));
    }
    const [c, r] = await Promise.all([getConfig(), pageP]);
    if (dead) return;
    cfg = c;
    if (!c || r.s != 200) return failed();
    cap = wantDepth >= 0 ? Math.min(wantDepth, c.max_depth) : c.max_depth;
    render(r);
    reopen();
    hash();
  }

  function failed() {
    // The server-rendered thread stays.
    if (!sr && el.children.length) return;
    attach();
    list = null;
    root.replaceChildren(
      h("p", { class: "db-msg", role: "alert" }, t("load_failed")),
      button("retry", t("retry")),
    );
  }

  function skeleton() {
    head = h("h2", { class: "db-cnt", tabindex: "-1" });
    slot = h("div", { class: "db-top" });
    bar = h("div", { class: "db-bar", role: "group", "aria-label": t("sort") },
      ["oldest", "newest"].map((v) => button("sort", t(v), { "data-v": v })));
    note = h("p", { class: "db-note" });
    list = h("ol", { class: "db-list" });
    moreBtn = button("more", t("load_more"), { class: "db-more" });
    alert = h("p", { class: "db-msg", role: "alert" });
    live = h("div", { class: "db-sr", role: "status", "aria-live": "polite" });
    subForm = cfg.subscriptions ? makeSub() : h("p");
    root.replaceChildren(head, slot, subForm, bar, note, list, moreBtn, alert, live);
  }

  function render(r) {
    attach();
    if (!list) skeleton();
    const th = r.d.thread;
    count = th.count;
    closed = th.closed;
    sort = r.d.sort;
    cursor = r.d.next_cursor;
    if (form && parentId) home();
    if (!closed && !form) form = makeForm();
    slot.replaceChildren(closed ? h("p", { class: "db-note" }, t("closed")) : form);
    subForm.hidden = closed;
    timers.splice(0).forEach(clearTimeout);
    byId.clear();
    io.disconnect();
    list.replaceChildren();
    add(r);
  }

  // A page of comments goes in at once, built in a fragment; → its first item.
  // A page's bodies come as one string of the server's sanitised HTML: one parse for all.
  function add(r) {
    const frag = document.createDocumentFragment();
    const tp = h("template");
    tp.innerHTML = r.d.bodies || "";
    bodies = new Map();
    for (const x of tp.content.children) bodies.set(+x.dataset.c, x);
    fill(frag, r.d.comments, 0);
    bodies = null;
    const first = frag.firstChild;
    list.append(frag);
    alert.textContent = "";
    pending();
    chrome();
    return first;
  }

  function chrome() {
    head.textContent = t("comments", { n: count });
    note.textContent = list.firstChild ? "" : t("empty");
    bar.hidden = !list.firstChild;
    for (const b of bar.children) b.setAttribute("aria-pressed", b.dataset.v == sort);
    moreBtn.hidden = !cursor;
  }

  // At the display cap, deeper replies follow flat, with "in reply to".
  function fill(ol, comments, d) {
    for (const c of comments) {
      // An empty list (a first page) has none.
      const old = list.firstChild && find(c.id);
      if (old) old.remove();
      ol.append(item(c, d));
      if (d >= cap && c.replies && c.replies.length) {
        fill(ol, c.replies.map((r) => ((r.reply_to = r.reply_to || ref(c)), r)), d);
      }
    }
  }

  // Comments are clones of prebuilt ones (tpl), by the author's name (a link or text)
  // and their buttons (Reply, Report, both or none).
  function blank(c) {
    const k = (c.website && web(c.website) ? "a" : "b") + (closed || c.status == "pending" ? "-" : "r") + (canReport(c) ? "p" : "-");
    return tpl[k] || (tpl[k] = h("li", { class: "db-c" }, h("article", { class: "db-a" },
      h("header", { class: "db-h" },
        h("img", { class: "db-av", alt: "", width: 32, height: 32, loading: "lazy" }),
        h(k[0], { class: "db-n", rel: k[0] == "a" && "nofollow ugc noopener" }), h("span", { class: "db-l" }), h("a", { class: "db-t" }, h("time"))),
      h("div", { class: "db-b" }),
      actBox(k[1] == "r", k[2] == "p").cloneNode(true))));
  }

  // A comment's buttons, before its author's and the replies' toggle are added.
  const actBox = (re, rep) => tpl[re + "" + rep] || (tpl[re + "" + rep] = h("div", { class: "db-act" },
    re && button("reply", t("reply")), rep && button("rep", t("report"))));
  // Readers report others' published comments, once.
  const canReport = (c) => cfg.reports && c.status == "approved" && !reported.has(c.id) && !owns.some((m) => m.id == c.id);

  function item(c, d) {
    byId.set(c.id, c);
    const li = blank(c).cloneNode(true);
    li.id = "comment-" + c.id;
    li.setAttribute("data-d", d);
    article(c, li.firstChild);
    if (d < cap && c.replies && c.replies.length) {
      const ol = h("ol", { class: "db-r", id: id + "-r" + c.id });
      fill(ol, c.replies, d + 1);
      li.append(ol);
    }
    actions(li, c);
    return li;
  }

  // a: a new item's blank article, filled in place.
  function article(c, a) {
    if (c.deleted) {
      const x = h("article", { class: "db-a db-del" }, h("p", { class: "db-ts" }, t("deleted")));
      if (a) a.replaceWith(x);
      return x;
    }
    a = a || blank(c).firstChild.cloneNode(true);
    const hd = a.firstChild;
    const av = hd.firstChild;
    const n = av.nextSibling;
    const l = n.nextSibling;
    const tm = l.nextSibling.firstChild;
    const body = hd.nextSibling;
    const rt = c.reply_to;
    if (c.avatar && web(c.avatar)) {
      avatars.set(av, c.avatar);
      io.observe(av);
    } else av.remove();
    if (n.localName == "a") n.href = c.website;
    if (c.author != null) n.textContent = c.author;
    if (c.label) l.textContent = "#" + c.label;
    else l.remove();
    tm.parentNode.href = "#comment-" + c.id;
    tm.dateTime = c.created;
    tm.textContent = t.ago(Date.parse(c.created));
    // Exact times (titles) are made when a reader points at or focuses the header (see on).
    if (c.edited) hd.append(h("time", { class: "db-e", datetime: c.edited }, t("edited")));
    if (c.status == "pending") {
      a.className = "db-a db-pend";
      hd.append(h("span", { class: "db-p" }, t("pending")));
    }
    if (rt) body.before(h("p", { class: "db-rt" }, h("a", { href: "#comment-" + rt.id }, t("in_reply_to", { name: rt.author || t("deleted_author"), label: rt.label }))));
    // Sanitised by the server.
    const b = bodies && bodies.get(c.id);
    if (b) body.replaceWith(b);
    else body.innerHTML = c.html || "";
    return a;
  }

  // fresh: a new item's comment; its clone brought the box (unless deleted). Replies come last.
  function actions(li, fresh) {
    const c = fresh || byId.get(idOf(li));
    const mine = !c.deleted && token(c.id);
    const ol = li.lastChild.localName == "ol" && li.lastChild;
    const a = li.firstChild;
    let box = a.lastChild;
    if (!fresh || c.deleted) {
      box = actBox(!closed && !c.deleted && c.status != "pending", canReport(c)).cloneNode(true);
      const old = a.querySelector(".db-act");
      if (old) old.replaceWith(box);
      else a.append(box);
      // Hidden while editing.
      box.hidden = !!a.querySelector(".db-ef");
    }
    if (mine) box.append(button("edit", t("edit")), button("del", t("delete")));
    if (ol && ol.firstChild)
      box.append(button("tog", ol.hidden ? t("show_replies", { n: ol.querySelectorAll("li").length }) : t("hide_replies"),
        { "aria-expanded": String(!ol.hidden), "aria-controls": ol.id }));
    if (mine) timers.push(setTimeout(() => li.isConnected && actions(li), mine.exp - Date.now() + 50));
    return box;
  }

  function place(c) {
    const p = c.parent && find(c.parent);
    if (c.parent && !p) return null;
    const old = find(c.id);
    if (old) old.remove();
    let ol = list;
    let d = 0;
    if (p) {
      d = +p.dataset.d;
      if (d < cap) {
        d++;
        ol = p.querySelector(":scope>ol") || p.appendChild(h("ol", { class: "db-r", id: id + "-r" + c.parent }));
        ol.hidden = false;
      } else {
        ol = p.parentNode;
        c.reply_to = c.reply_to || ref(byId.get(c.parent));
      }
    }
    const li = item(c, d);
    if (p || sort != "newest") ol.append(li);
    else ol.prepend(li);
    if (p) actions(p);
    chrome();
    return li;
  }

  // Held comments are shown to their author only, from localStorage.
  function pending() {
    for (const m of owns) if (m.pend && !byId.has(m.id)) place(m.pend);
  }

  function hash(tries) {
    const m = /^#comment-(\d+)$/.exec(location.hash);
    if (!m || !list) return;
    const li = find(m[1]);
    if (!li) {
      if (cursor && (tries || 0) < 20) more().then(() => hash((tries || 0) + 1));
      return;
    }
    for (let p = li.parentNode; p != list; p = p.parentNode) {
      if (p.hidden) {
        p.hidden = false;
        actions(p.parentNode);
      }
    }
    for (const x of sr.querySelectorAll(".db-hl")) x.classList.remove("db-hl");
    li.classList.add("db-hl");
    li.tabIndex = -1;
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: "start" });
  }

  function more() {
    return loading || (loading = (async () => {
      const r = await page(cursor);
      loading = null;
      if (dead) return;
      if (r.s != 200) return void (alert.textContent = errText(r));
      cursor = r.d.next_cursor;
      count = r.d.thread.count;
      const first = add(r);
      say(t("loaded", { n: r.d.comments.length }));
      if (!cursor && first) {
        first.tabIndex = -1;
        first.focus();
      }
    })());
  }

  async function refresh() {
    if (!list) return start();
    const r = await page(null);
    if (!dead) r.s == 200 ? render(r) : (alert.textContent = errText(r));
  }

  function makeForm() {
    const who = load("me") || {};
    const row = (n, input, label, optional, hint) => {
      const fid = id + "-" + n;
      input.id = fid;
      input.name = n;
      inputs[n] = input;
      input.setAttribute("aria-describedby", fid + "-e" + (hint ? " " + fid + "-h" : ""));
      if (!optional) input.required = true;
      return h("div", { class: "db-fd" },
        h("label", { for: fid }, t(label)),
        optional ? [" ", h("span", { class: "db-opt" }, t("optional"))] : null,
        input,
        hint ? h("p", { class: "db-hint", id: fid + "-h" }, hint) : null,
        h("p", { class: "db-fe", id: fid + "-e" }));
    };
    const input = (type, auto, max, value) => h("input", { type, autocomplete: auto, maxlength: max, value });
    const f = h("form", { class: "db-f", novalidate: true },
      h("p", { class: "db-to", hidden: true }),
      h("div", { class: "db-fs" },
        row("name", input("text", "name", cfg.max_name_length, who.name), "name"),
        row("email", input("email", "email", 254, who.email), "email", !cfg.require_email, t("email_note")),
        row("website", input("url", "url", 500, who.website), "website", true)),
      row("body", h("textarea", { rows: 5, maxlength: cfg.max_body_length }), "comment", false, t("markdown")),
      h("div", { class: "db-pv db-b", hidden: true }),
      cfg.subscriptions ? h("div", { class: "db-ck" }, check("notify_replies"), check("notify_all")) : null,
      h("div", { class: "db-hp", "aria-hidden": "true" },
        h("label", null, "Homepage ", (inputs.homepage = h("input", { name: "homepage", tabindex: "-1", autocomplete: "off" })))),
      h("div", { class: "db-btns" },
        button("prev", t("preview"), { "aria-pressed": "false" }),
        h("button", { type: "submit" }, t("post")),
        button("home", t("cancel"), { hidden: true })),
      h("p", { class: "db-msg", role: "alert" }),
      h("p", { class: "db-ok", role: "status" }),
      cfg.privacy && h("p", { class: "db-note" }, web(cfg.privacy.url) ? h("a", { href: cfg.privacy.url }, cfg.privacy.notice) : cfg.privacy.notice),
    );
    inputs.body.value = drafts()[0] || "";
    return f;
  }

  // Checkboxes stay out of inputs (drafts, errors): their state is read at posting.
  const checks = {};
  const check = (n) => h("label", null, (checks[n] = h("input", { type: "checkbox", name: n })), " ", t(n));
  // Headers of a reader's own requests: the page's language, for the server's messages
  // (Accept-Language is a CORS-safelisted header), and the reader token if there is one.
  const reader = (x) => ((x = { "Accept-Language": lang }), load("reader") && (x["X-Debatebox-Reader"] = load("reader")), x);

  function makeSub() {
    const fid = id + "-sub";
    return h("form", { class: "db-f db-sf", novalidate: true, "aria-label": t("sub_title") },
      h("p", { class: "db-q" }, t("sub_title")),
      h("label", { for: fid }, t("email")),
      h("div", { class: "db-btns" },
        h("input", { id: fid, type: "email", autocomplete: "email", maxlength: 254, required: true, "aria-describedby": fid + "-e", value: (load("me") || {}).email }),
        h("button", { type: "submit" }, t("subscribe"))),
      h("p", { class: "db-fe", id: fid + "-e" }),
      h("p", { class: "db-ok", role: "status" }));
  }

  async function subscribe() {
    const [inp, ok] = subForm.querySelectorAll("input,.db-ok");
    const err = inp.parentNode.nextSibling;
    inp.removeAttribute("aria-invalid");
    err.textContent = ok.textContent = "";
    const data = { thread: key, title, email: inp.value.trim(), lang };
    if (pageUrl.length <= 1000) data.url = pageUrl;
    const r = await api("subscriptions", "POST", data, reader());
    if (r.s == 201 || r.s == 202) {
      ok.textContent = t(r.s == 201 ? "sub_active" : "sub_pending");
      store("me", Object.assign(load("me") || {}, { email: data.email }));
    } else {
      const m = (r.d.fields || {}).email;
      if (m) inp.setAttribute("aria-invalid", "true"), inp.focus();
      err.textContent = m || errText(r);
    }
  }

  // Not FormData: that searches the whole shadow tree.
  const values = () => {
    const v = {};
    for (const n in inputs) v[n] = inputs[n].value;
    return v;
  };

  // Drafts per thread and parent; name, email and website for every thread.
  function keep() {
    const v = values();
    store("me", { name: v.name, email: v.email, website: v.website });
    const d = drafts();
    if (v.body) d[parentId] = v.body;
    else delete d[parentId];
    store(S + "drafts", d);
  }

  function clearErrors(f) {
    for (const x of f.querySelectorAll("[aria-invalid]")) x.removeAttribute("aria-invalid");
    for (const x of f.querySelectorAll(".db-fe,.db-msg,.db-ok")) x.textContent = "";
  }

  // One form: replying moves it under the comment.
  function reply(li, quiet) {
    const cid = idOf(li);
    if (parentId != cid) {
      parentId = cid;
      swap();
      const to = form.querySelector(".db-to");
      to.textContent = t("replying_to", { name: byId.get(cid).author });
      to.hidden = false;
      form.querySelector("[data-a=home]").hidden = false;
      li.firstChild.after(form);
    }
    if (!quiet) (field("name").value ? field("body") : field("name")).focus();
  }

  function home() {
    const cid = parentId;
    parentId = 0;
    swap();
    form.querySelector(".db-to").hidden = true;
    form.querySelector("[data-a=home]").hidden = true;
    slot.replaceChildren(form);
    return cid;
  }

  function swap() {
    field("body").value = drafts()[parentId] || "";
    clearErrors(form);
    previewOff();
  }

  // After a reload, a reply being written is opened again.
  function reopen() {
    if (closed) return;
    const d = drafts();
    const cid = +carry.parent || (!d[0] && Object.keys(d).find((k) => +k && d[k] && find(k)));
    if (cid && find(cid)) reply(find(cid), true);
    for (const n of ["name", "email", "website", "body"]) if (carry[n]) field(n).value = carry[n];
    keep();
  }

  async function submit() {
    if (busy) return;
    const v = values();
    const data = { thread: key, title, name: v.name, email: v.email, website: v.website, body: v.body, homepage: v.homepage };
    if (pageUrl.length <= 1000) data.url = pageUrl;
    if (parentId) data.parent = parentId;
    for (const n in checks) if (checks[n].checked) (data[n] = true), (data.lang = lang);
    const s = JSON.stringify(data);
    if (s != sig) {
      // A retry of the same submission reuses its key.
      sig = s;
      idemKey = uuid();
    }
    busy = true;
    const submitBtn = form.querySelector("[type=submit]");
    submitBtn.setAttribute("aria-disabled", "true");
    form.setAttribute("aria-busy", "true");
    clearErrors(form);
    let r;
    for (let tries = 0; ; tries++) {
      const c = await getConfig();
      if (!c) {
        r = { s: 0, d: {} };
        break;
      }
      data.form_token = c.form_token;
      r = await api("comments", "POST", data, Object.assign({ "Idempotency-Key": idemKey }, reader()));
      // A token too old or too young: renew it or wait, then try once more.
      const e = r.s == 403 && !tries && r.d.error;
      if (e != "too_fast" && !/^form_/.test(e)) break;
      if (e != "too_fast") config = null;
      await sleep(((await getConfig()) || {}).min_fill_seconds * 1e3 || 0);
    }
    busy = false;
    submitBtn.removeAttribute("aria-disabled");
    form.removeAttribute("aria-busy");
    if (dead) return;
    if (r.s == 201 || r.s == 202) posted(r.d, v.body);
    else fail(r);
  }

  function posted(d, src) {
    const c = d.comment;
    const now = Date.now();
    const exp = now + d.edit_window * 1e3;
    owns = owns.filter((m) => m.id != c.id);
    owns.push({ id: c.id, tok: d.edit_token, exp, keep: d.published ? exp : now + 30 * DAY, src, pend: d.published ? null : c });
    saveOwns();
    count = d.thread.count;
    const dr = drafts();
    delete dr[parentId];
    store(S + "drafts", dr);
    sig = null;
    field("body").value = "";
    const wasReply = parentId && home();
    const li = place(c);
    for (const n in checks) checks[n].checked = false;
    form.querySelector(".db-ok").textContent = d.subscriptions ? t("sub_" + d.subscriptions) : "";
    say(t(d.published ? "published" : "held"));
    if (wasReply && li) {
      li.tabIndex = -1;
      li.focus();
    }
  }

  function fail(r) {
    const fields = r.d.fields || {};
    let first = null;
    for (const n in fields) {
      const input = field(n);
      if (!input || !input.id) continue;
      input.setAttribute("aria-invalid", "true");
      sr.getElementById(input.id + "-e").textContent = fields[n];
      first = first || input;
    }
    form.querySelector(".db-msg").textContent = first ? t("err_invalid") : errText(r);
    if (first) first.focus();
  }

  async function preview() {
    const btn = form.querySelector("[data-a=prev]");
    const pv = form.querySelector(".db-pv");
    const body = field("body").value;
    btn.setAttribute("aria-pressed", "true");
    pv.hidden = false;
    if (!body.trim()) return void (pv.textContent = t("preview_empty"));
    const r = await api("preview", "POST", { body });
    if (btn.getAttribute("aria-pressed") != "true") return;
    // Sanitised by the server.
    if (r.s == 200) pv.innerHTML = r.d.html;
    else {
      previewOff();
      form.querySelector(".db-msg").textContent = errText(r);
    }
  }

  function previewOff() {
    form.querySelector("[data-a=prev]").setAttribute("aria-pressed", "false");
    const pv = form.querySelector(".db-pv");
    pv.hidden = true;
    pv.textContent = "";
  }

  function editOpen(li) {
    const a = li.firstChild;
    const body = a.querySelector(".db-b");
    const mine = token(idOf(li));
    const ta = h("textarea", { id: id + "-ed" + idOf(li), rows: 5, maxlength: cfg.max_body_length });
    ta.value = mine && mine.src != null ? mine.src : body.textContent;
    body.hidden = true;
    a.querySelector(".db-act").hidden = true;
    body.after(h("form", { class: "db-ef", novalidate: true },
      h("label", { for: ta.id }, t("edit_text")), ta,
      h("p", { class: "db-msg", role: "alert" }),
      h("div", { class: "db-btns" },
        h("button", { type: "submit" }, t("save")),
        button("ecancel", t("cancel")))));
    ta.focus();
  }

  function editClose(li) {
    const a = li.firstChild;
    a.querySelector(".db-ef").remove();
    a.querySelector(".db-b").hidden = false;
    const box = actions(li);
    (box.querySelector("[data-a=edit]") || box.firstChild || head).focus();
  }

  function expire(cid, r) {
    if (r.s == 403 || r.s == 410) {
      owns.forEach((m) => m.id == cid && (m.exp = 0));
      saveOwns();
    }
  }

  async function editSave(ef) {
    if (ef.getAttribute("aria-busy")) return;
    const li = ef.closest("li");
    const cid = idOf(li);
    const mine = token(cid);
    const ta = ef.querySelector("textarea");
    ef.setAttribute("aria-busy", "true");
    const r = await api("comments/" + cid, "PATCH", { body: ta.value }, { "X-Debatebox-Token": mine ? mine.tok : "", "Accept-Language": lang });
    ef.removeAttribute("aria-busy");
    if (r.s == 200) {
      const c = Object.assign(r.d.comment, { reply_to: byId.get(cid).reply_to });
      byId.set(cid, c);
      owns.forEach((m) => m.id == cid && ((m.src = ta.value), m.pend && (m.pend = c)));
      saveOwns();
      li.firstChild.replaceWith(article(c));
      actions(li);
      (li.querySelector(":scope>.db-a [data-a=edit]") || li.firstChild).focus();
      return say(t("saved"));
    }
    expire(cid, r);
    ta.setAttribute("aria-invalid", r.s == 422);
    ef.querySelector(".db-msg").textContent = r.s == 422 ? (r.d.fields || {}).body || r.d.message : errText(r);
  }

  async function remove(li) {
    const cid = idOf(li);
    const mine = token(cid);
    const r = await api("comments/" + cid, "DELETE", null, { "X-Debatebox-Token": mine ? mine.tok : "", "Accept-Language": lang });
    const c = byId.get(cid);
    if (r.s != 200) {
      expire(cid, r);
      // The buttons are rebuilt: the message takes the focus the pressed one had.
      const m = h("p", { class: "db-msg", role: "alert", tabindex: "-1" }, errText(r));
      actions(li).append(m);
      m.focus();
      return;
    }
    owns = owns.filter((m) => m.id != cid);
    saveOwns();
    if (c.status == "approved") count--;
    if (r.d.tombstone) {
      byId.set(cid, Object.assign({}, c, { deleted: true, status: "deleted" }));
      li.firstChild.replaceWith(article(byId.get(cid)));
      actions(li);
      li.tabIndex = -1;
      li.focus();
    } else {
      const ol = li.parentNode;
      const up = ol != list && ol.parentNode;
      li.remove();
      if (up && !ol.firstChild) ol.remove();
      if (up) actions(up);
      head.focus();
    }
    chrome();
    say(t("removed"));
  }

  async function report(li, b) {
    const box = b.parentNode;
    if (box.getAttribute("aria-busy")) return;
    box.setAttribute("aria-busy", "true");
    const cid = idOf(li);
    const r = await api("comments/" + cid + "/reports", "POST", { reason: b.dataset.v }, reader());
    if (r.s == 202) {
      reported.add(cid);
      store(S + "rep", [...reported].slice(-500));
    }
    // The thread may have been reloaded meanwhile.
    if (!li.isConnected) return;
    const m = h("p", { class: r.s == 202 ? "db-ok" : "db-msg", tabindex: "-1" }, r.s == 202 ? t("reported") : errText(r));
    actions(li).append(m);
    m.focus();
  }

  // One listener per event type, on the shadow root.
  function on(e) {
    const tg = e.target;
    if (e.type == "pointerover" || e.type == "focusin") {
      const hd = tg.closest(".db-h");
      if (hd) for (const x of hd.querySelectorAll("time:not([title])")) x.title = t.exact(x.dateTime);
      return;
    }
    if (e.type == "submit") {
      e.preventDefault();
      return tg == form ? submit() : tg == subForm ? subscribe() : editSave(tg);
    }
    if (e.type == "input") {
      if (tg.getAttribute("aria-invalid") == "true") {
        tg.removeAttribute("aria-invalid");
        const err = sr.getElementById(tg.id + "-e");
        if (err) err.textContent = "";
      }
      if (form && tg.form == form) {
        keep();
        if (tg.name == "body" && form.querySelector("[data-a=prev]").getAttribute("aria-pressed") == "true") {
          clearTimeout(previewTimer);
          previewTimer = setTimeout(preview, 500);
        }
      }
      return;
    }
    const b = tg.closest("button[data-a]");
    if (!b || b.getAttribute("aria-disabled")) return;
    const li = b.closest("li");
    const a = b.dataset.a;
    if (a == "retry") {
      list = null;
      return start();
    }
    if (a == "sort") return b.dataset.v != sort && ((sort = b.dataset.v), refresh());
    if (a == "more") return more();
    if (a == "prev") return b.getAttribute("aria-pressed") == "true" ? previewOff() : preview();
    if (a == "home") {
      const cid = home();
      const back = find(cid);
      return (back ? back.querySelector(":scope>.db-a [data-a=reply]") : field("body")).focus();
    }
    if (a == "reply") return reply(li);
    if (a == "tog") {
      const ol = li.querySelector(":scope>ol");
      ol.hidden = !ol.hidden;
      return actions(li).querySelector("[data-a=tog]").focus();
    }
    if (a == "edit") return editOpen(li);
    if (a == "ecancel") return editClose(li);
    // Delete asks first; Report asks why, and a reason sends it.
    if (a == "del" || a == "rep") {
      const box = b.parentNode;
      const q = t(a == "del" ? "confirm_delete" : "report_why");
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", q);
      box.replaceChildren(h("span", { class: "db-q" }, q),
        ...(a == "del" ? [button("yes", t("yes_delete"), { class: "db-yes" })] : REASONS.map((v) => button("rp", t("r_" + v), { "data-v": v }))),
        button("no", t("cancel"), { "data-v": a }));
      return box.children[1].focus();
    }
    if (a == "no") return actions(li).querySelector("[data-a=" + b.dataset.v + "]").focus();
    if (a == "yes") return remove(li);
    if (a == "rp") return report(li, b);
  }

  return {
    start: () => start().catch((e) => {
      failed();
      throw e;
    }),
    refresh,
    hash: () => hash(),
    destroy() {
      dead = true;
      timers.forEach(clearTimeout);
      io.disconnect();
      if (sr) {
        for (const type of EVENTS) sr.removeEventListener(type, on);
        // The host's own markup shows again.
        sr.replaceChildren(h("slot"));
      }
    },
  };
}

async function counts(scope) {
  const els = Array.from((scope || document).querySelectorAll("[data-debatebox-count]"));
  const keyOf = (e) => e.getAttribute("data-debatebox-count").trim() || location.pathname;
  const chunks = [];
  let chunk = [];
  let size = 0;
  for (const k of new Set(els.map(keyOf))) {
    const part = "thread=" + encodeURIComponent(k);
    if (chunk.length == 100 || (chunk.length && size + part.length > 3000)) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(part);
    size += part.length + 1;
  }
  if (chunk.length) chunks.push(chunk);
  const got = {};
  await Promise.all(chunks.map((c) => api("counts?" + c.join("&")).then((r) => Object.assign(got, r.d.counts))));
  await Promise.all(els.map(async (e) => {
    const k = keyOf(e);
    if (k in got) e.textContent = (await translator(langOf(e)))("comments", { n: got[k] });
  }));
}

const elementOf = (el) => (typeof el == "string" ? document.querySelector(el) : el);

function destroy(el) {
  el = elementOf(el);
  const box = boxes.get(el);
  if (box) box.destroy();
  boxes.delete(el);
}

function loadBox(el, options) {
  el = elementOf(el);
  destroy(el);
  const box = create(el, options);
  boxes.set(el, box);
  return box.start();
}

function reload(el) {
  const box = boxes.get(elementOf(el));
  return box ? box.refresh() : loadBox(el);
}

window.DebateBox = { load: loadBox, reload, destroy, counts, version: VERSION };

addEventListener("hashchange", () => boxes.forEach((box) => box.hash()));

// Back from a confirmed subscription: keep the reader token, out of the address bar.
const rt = /^#debatebox-reader=([\w.-]+)$/.exec(location.hash);
if (rt) store("reader", rt[1]), history.replaceState(history.state, "", location.pathname + location.search);

function init() {
  for (const el of document.querySelectorAll("[data-debatebox-thread]")) if (!boxes.has(el)) loadBox(el);
  counts();
}

if (document.readyState == "loading") document.addEventListener("DOMContentLoaded", init);
else init();
})();
