// ClaimFlow supervisor dashboard. The page holds no data of its own: it asks for a supervisor
// token and reads everything from the API. The server's CSP forbids inline script and eval,
// so everything is built here with DOM calls (never innerHTML with API data).
"use strict";

(function () {
  const TOKEN_KEY = "claimflow.supervisorToken";
  const REFRESH_MS = 15000;
  const PAGE_SIZE = 50;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const STAGES = [
    "received", "ready_to_code", "coding", "on_hold", "coded", "returned_to_coding", "ready_to_bill",
    "billing", "submitted", "accepted", "rejected", "denied", "rework", "paid", "closed",
  ];
  const AGING_BUCKETS = ["0-1", "2-3", "4-7", "8-14", "15+"];
  const ROLE_FOR_QUEUE = { coding: "coder", billing: "biller" };
  // Fields of a queue summary the cards already show; anything else numeric the server adds
  // gets a card of its own, so a newer server needs no page change.
  const KNOWN_QUEUE_FIELDS = new Set(["queue", "practice_code", "waiting", "leased", "returned", "oldest_age_seconds", "aging"]);
  const EXTRA_FIELD_LABELS = {
    dnfb_charges: ["DNFB charges", "discharged, not final billed"],
    near_filing_limit: ["Near filing limit", "close to payer deadline"],
  };

  const $ = (id) => document.getElementById(id);

  const state = {
    token: null,
    filters: { queue: "", stage: "", practice: "", assignee: "", from: "", to: "" },
    // Cursors of the pages visited since the first page, so "previous" works without the API
    // offering a backwards cursor.
    cursors: [null],
    next: null,
    items: [],
    itemsKey: "",
    queues: null,
    users: [],
    usersLoadedAt: 0,
    timer: null,
    // Responses that arrive after sign-out, or after a newer work-list request, are dropped.
    session: 0,
    workSeq: 0,
    messageSource: null,
    dialogItem: null,
  };

  class ApiError extends Error {
    constructor(status, detail, findings) {
      super(detail);
      this.status = status;
      this.findings = findings || [];
    }
  }

  // ---- API ------------------------------------------------------------------------------

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", Authorization: "Bearer " + state.token };
    // A hung request would otherwise hold up every refresh queued behind it.
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), 20000);
    const init = { method: options.method || "GET", headers, cache: "no-store", signal: abort.signal };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      const why = error.name === "AbortError" ? "no answer in 20 s" : error.message;
      throw new ApiError(0, "ClaimFlow could not be reached (" + why + ").");
    } finally {
      clearTimeout(timeout);
    }
    let body = null;
    const text = await response.text();
    if (text) {
      try { body = JSON.parse(text); } catch (_) { body = null; }
    }
    if (!response.ok) {
      const detail = (body && (body.detail || body.title)) || response.status + " " + response.statusText;
      throw new ApiError(response.status, detail, body && body.findings);
    }
    return body;
  }

  function describeError(error) {
    let text = error.message;
    if (error.findings && error.findings.length) {
      text += ": " + error.findings.map((f) => (f.path ? f.path + " " : "") + f.message).join("; ");
    }
    return text;
  }

  // 401 and 403 end the session: nothing on this page works without a supervisor's token.
  function handleAuthError(error) {
    if (error.status === 401) {
      signOut("Your token was not accepted (" + error.message + "). Sign in again.");
      return true;
    }
    if (error.status === 403) {
      signOut("That token is not a supervisor's: " + error.message + ".");
      return true;
    }
    return false;
  }

  // ---- Session -----------------------------------------------------------------------------

  function showSignIn(errorText) {
    $("dashboard").hidden = true;
    $("session-actions").hidden = true;
    $("sign-in-panel").hidden = false;
    if (errorText) showMessage(errorText, "error", "auth");
    $("token").focus();
  }

  function signOut(reason) {
    state.session += 1;
    stopTimer();
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    for (const dialog of [$("reassign-dialog"), $("release-dialog")]) {
      if (dialog.open) dialog.close();
    }
    // Drop everything shown so the next person at this screen sees nothing.
    $("work-rows").replaceChildren();
    $("figures").replaceChildren();
    $("depth-chart").replaceChildren();
    $("aging-chart").replaceChildren();
    state.items = [];
    state.itemsKey = "";
    state.queues = null;
    state.users = [];
    state.usersLoadedAt = 0;
    $("updated").textContent = "not updated yet";
    $("token").value = "";
    if (!reason) clearMessage();
    showSignIn(reason);
  }

  async function startSession(token) {
    state.token = token;
    state.session += 1;
    const session = state.session;
    $("sign-in").disabled = true;
    try {
      // The queue view doubles as the token check: it needs the supervisor role.
      const queues = await api("/api/v1/supervisor/queues");
      if (session !== state.session) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("sign-in-panel").hidden = true;
      $("dashboard").hidden = false;
      $("session-actions").hidden = false;
      $("token").value = "";
      if (state.messageSource === "auth") clearMessage();
      renderQueues(queues);
      loadUsers().catch(() => {});
      await loadWork();
      markUpdated();
      startTimer();
    } catch (error) {
      if (!handleAuthError(error)) {
        state.token = null;
        showSignIn(describeError(error));
      }
    } finally {
      $("sign-in").disabled = false;
    }
  }

  // ---- Refresh -----------------------------------------------------------------------------

  function startTimer() {
    stopTimer();
    state.timer = setInterval(() => refreshAll(false), REFRESH_MS);
  }

  function stopTimer() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  // Refreshes run one after another, so one asked for after an action always reads the
  // state after that action rather than joining a request already in flight.
  let refreshChain = Promise.resolve();

  function refreshAll(restartTimer) {
    if (!state.token) return Promise.resolve();
    if (restartTimer) startTimer();
    refreshChain = refreshChain.then(refreshOnce, refreshOnce);
    return refreshChain;
  }

  async function refreshOnce() {
    if (!state.token) return;
    const session = state.session;
    try {
      const queues = await api("/api/v1/supervisor/queues");
      if (session !== state.session) return;
      renderQueues(queues);
      await loadWork();
      if (session !== state.session) return;
      markUpdated();
      if (state.messageSource === "refresh") clearMessage();
    } catch (error) {
      if (session !== state.session) return;
      if (!handleAuthError(error)) showMessage("Could not refresh: " + describeError(error), "error", "refresh");
    }
  }

  function markUpdated() {
    const now = new Date();
    const hhmmss = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
    $("updated").textContent = "updated " + hhmmss;
    $("updated").dataset.updatedAt = now.toISOString();
  }

  // ---- Queue figures and charts --------------------------------------------------------------

  function renderQueues(body) {
    state.queues = body;
    const queues = (body && body.queues) || [];
    const holds = (body && body.holds) || [];
    renderFigures(queues, holds);
    renderDepthChart(queues);
    renderAgingChart(queues);
    updatePracticeOptions(queues, holds);
  }

  function queueLabel(q) {
    return capitalize(q.queue) + " · " + q.practice_code;
  }

  function renderFigures(queues, holds) {
    const cards = [];
    const sum = (list, key) => list.reduce((total, q) => total + (typeof q[key] === "number" ? q[key] : 0), 0);
    // The per-queue split goes in the tooltip; the chart already shows it at a glance.
    const perQueue = (key, format) =>
      queues.filter((q) => typeof q[key] === "number").map((q) => queueLabel(q) + ": " + format(q[key])).join("\n");

    cards.push({ key: "waiting", label: "Waiting", value: formatCount(sum(queues, "waiting")), sub: "not yet picked up", detail: perQueue("waiting", formatCount) });
    cards.push({ key: "leased", label: "Leased", value: formatCount(sum(queues, "leased")), sub: "being worked now", detail: perQueue("leased", formatCount) });
    cards.push({ key: "returned", label: "Returned", value: formatCount(sum(queues, "returned")), sub: "sent back with findings", detail: perQueue("returned", formatCount) });

    const aged = queues.filter((q) => typeof q.oldest_age_seconds === "number");
    if (aged.length) {
      const oldest = aged.reduce((a, b) => (b.oldest_age_seconds > a.oldest_age_seconds ? b : a));
      cards.push({ key: "oldest", label: "Oldest in queue", value: formatDuration(oldest.oldest_age_seconds), sub: queueLabel(oldest), detail: perQueue("oldest_age_seconds", formatDuration) });
    } else {
      cards.push({ key: "oldest", label: "Oldest in queue", value: "—", sub: "queues are empty" });
    }

    const onHold = sum(holds, "on_hold");
    const holdAges = holds.filter((h) => typeof h.oldest_age_seconds === "number" && h.on_hold > 0).map((h) => h.oldest_age_seconds);
    cards.push({
      key: "holds",
      label: "On hold",
      value: formatCount(onHold),
      sub: holdAges.length ? "oldest " + formatDuration(Math.max(...holdAges)) : "no provider queries open",
      detail: holds.map((h) => h.practice_code + ": " + formatCount(h.on_hold) + (h.on_hold > 0 && typeof h.oldest_age_seconds === "number" ? ", oldest " + formatDuration(h.oldest_age_seconds) : "")).join("\n"),
      warn: holdAges.length > 0 && Math.max(...holdAges) > 7 * 86400,
    });

    const extraKeys = [];
    for (const q of queues) {
      for (const key of Object.keys(q)) {
        if (!KNOWN_QUEUE_FIELDS.has(key) && typeof q[key] === "number" && !extraKeys.includes(key)) extraKeys.push(key);
      }
    }
    for (const key of extraKeys) {
      const present = queues.filter((q) => typeof q[key] === "number");
      const [label, hint] = EXTRA_FIELD_LABELS[key] || [humanize(key), ""];
      const total = present.reduce((t, q) => t + q[key], 0);
      let format = formatCount;
      if (key === "dnfb_charges" || /(_dollars|_charges|_amount)$/.test(key)) format = formatMoney;
      else if (/_seconds$/.test(key)) format = formatDuration;
      const value = format === formatDuration ? formatDuration(Math.max(...present.map((q) => q[key]))) : format(total);
      const sub = hint || (present.length === 1 ? queueLabel(present[0]) : present.length + " queues");
      cards.push({ key, label, value, sub, detail: perQueue(key, format), warn: key === "near_filing_limit" && total > 0 });
    }

    $("figures").replaceChildren(
      ...cards.map((card) => {
        const li = el("li", { class: "figure card" + (card.warn ? " warn" : ""), "data-figure": card.key });
        li.append(el("span", { class: "figure-label" }, card.label), el("span", { class: "figure-value" }, card.value));
        if (card.sub) li.append(el("span", { class: "figure-sub" }, card.sub));
        li.title = card.detail ? card.label + "\n" + card.detail : card.label + ": " + card.value + (card.sub ? " (" + card.sub + ")" : "");
        return li;
      })
    );
  }

  function renderDepthChart(queues) {
    const categories = queues.map(queueLabel);
    const series = [
      { name: "Waiting", values: queues.map((q) => q.waiting || 0) },
      { name: "Leased", values: queues.map((q) => q.leased || 0) },
    ];
    renderLegend($("depth-legend"), series);
    barChart($("depth-chart"), {
      title: "Queue depth: items waiting and leased, per queue and practice",
      categories,
      series,
      xLabel: "Queue · practice",
      yLabel: "Items",
      empty: "No queues to show",
    });
  }

  function renderAgingChart(queues) {
    const series = queues.map((q) => ({
      name: queueLabel(q),
      values: AGING_BUCKETS.map((bucket) => (q.aging && q.aging[bucket]) || 0),
    }));
    renderLegend($("aging-legend"), series);
    barChart($("aging-chart"), {
      title: "Aging: queued items by days since the date of service",
      categories: AGING_BUCKETS.map((b) => b + " d"),
      series,
      xLabel: "Days since date of service",
      yLabel: "Items",
      empty: "No queued items",
    });
  }

  function renderLegend(list, series) {
    list.replaceChildren(
      ...series.map((s, i) => {
        const li = el("li", {});
        li.append(el("span", { class: "swatch s" + (i % 6), "aria-hidden": "true" }), document.createTextNode(s.name));
        return li;
      })
    );
  }

  // A grouped vertical bar chart sized to its box, so its text stays at its real size instead
  // of shrinking with a viewBox. One <rect class="bar"> per value, each labelled.
  function barChart(svg, spec) {
    const box = svg.parentElement;
    const width = Math.max(300, Math.floor(box.clientWidth || 480));
    const height = 210;
    const margin = { top: 22, right: 14, bottom: 46, left: 56 };
    const plotW = width - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(height));
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.replaceChildren();

    const idBase = svg.id;
    svg.append(svgEl("title", { id: idBase + "-title" }, spec.title));
    const summary = spec.categories.map((c, ci) => c + ": " + spec.series.map((s) => s.name + " " + s.values[ci]).join(", ")).join("; ");
    svg.append(svgEl("desc", { id: idBase + "-desc" }, summary || spec.empty));

    if (!spec.categories.length || !spec.series.length) {
      svg.append(svgEl("text", { x: width / 2, y: height / 2, class: "empty", "text-anchor": "middle" }, spec.empty));
      return;
    }

    const max = Math.max(0, ...spec.series.flatMap((s) => s.values));
    const ticks = niceTicks(max);
    const top = ticks[ticks.length - 1];
    const y = (v) => margin.top + plotH - (top === 0 ? 0 : (v / top) * plotH);

    const grid = svgEl("g", { class: "grid", "aria-hidden": "true" });
    for (const t of ticks) {
      grid.append(svgEl("line", { x1: margin.left, x2: margin.left + plotW, y1: y(t), y2: y(t) }));
      grid.append(svgEl("text", { x: margin.left - 8, y: y(t) + 4, "text-anchor": "end", class: "tick" }, formatCount(t)));
    }
    svg.append(grid);

    const groupW = plotW / spec.categories.length;
    const n = spec.series.length;
    const barW = Math.max(6, Math.min(56, (groupW * 0.72) / n));
    const gap = n > 1 ? Math.min(6, barW * 0.15) : 0;
    const clusterW = n * barW + (n - 1) * gap;

    const bars = svgEl("g", { class: "bars" });
    spec.categories.forEach((category, ci) => {
      const x0 = margin.left + ci * groupW + (groupW - clusterW) / 2;
      spec.series.forEach((s, si) => {
        const value = s.values[ci];
        const x = x0 + si * (barW + gap);
        // A small count next to a large one would round to nothing; keep it visible.
        const barTop = value > 0 ? Math.min(y(value), margin.top + plotH - 2) : y(value);
        const label = category + ", " + s.name + ": " + formatCount(value);
        const rect = svgEl("rect", {
          class: "bar s" + (si % 6),
          x: x.toFixed(1),
          y: barTop.toFixed(1),
          width: barW.toFixed(1),
          height: Math.max(0, margin.top + plotH - barTop).toFixed(1),
          rx: 2,
          "data-category": category,
          "data-series": s.name,
          "data-value": String(value),
          "aria-label": label,
        });
        rect.append(svgEl("title", {}, label));
        bars.append(rect);
        bars.append(svgEl("text", { x: (x + barW / 2).toFixed(1), y: (barTop - 5).toFixed(1), "text-anchor": "middle", class: "value" }, formatCount(value)));
      });
      bars.append(svgEl("text", { x: (margin.left + ci * groupW + groupW / 2).toFixed(1), y: margin.top + plotH + 16, "text-anchor": "middle", class: "category" }, category));
    });
    svg.append(bars);

    svg.append(svgEl("line", { class: "axis", x1: margin.left, x2: margin.left + plotW, y1: margin.top + plotH, y2: margin.top + plotH }));
    svg.append(svgEl("text", { class: "axis-title", x: margin.left + plotW / 2, y: height - 6, "text-anchor": "middle" }, spec.xLabel));
    svg.append(svgEl("text", { class: "axis-title", x: 0, y: 0, "text-anchor": "middle", transform: "translate(14 " + (margin.top + plotH / 2) + ") rotate(-90)" }, spec.yLabel));
  }

  function niceTicks(max) {
    if (max <= 0) return [0, 1];
    const rough = max / 4;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) || power * 10;
    const stepWhole = Math.max(1, step);
    const ticks = [];
    for (let t = 0; t < max + stepWhole; t += stepWhole) {
      ticks.push(Math.round(t * 100) / 100);
      if (t >= max) break;
    }
    return ticks;
  }

  function updatePracticeOptions(queues, holds) {
    const codes = [...new Set([...queues.map((q) => q.practice_code), ...holds.map((h) => h.practice_code)])].sort();
    const select = $("filter-practice");
    const current = select.value;
    const existing = [...select.options].map((o) => o.value).filter(Boolean);
    if (codes.every((c) => existing.includes(c)) && codes.length === existing.length) return;
    select.replaceChildren(el("option", { value: "" }, "Any"), ...codes.map((c) => el("option", { value: c }, c)));
    if (current && !codes.includes(current)) select.append(el("option", { value: current }, current));
    select.value = current;
  }

  // ---- Work list ---------------------------------------------------------------------------

  function workQuery() {
    const params = new URLSearchParams();
    for (const key of ["queue", "stage", "practice", "assignee", "from", "to"]) {
      if (state.filters[key]) params.set(key, state.filters[key]);
    }
    params.set("limit", String(PAGE_SIZE));
    const after = state.cursors[state.cursors.length - 1];
    if (after) params.set("after", after);
    return params.toString();
  }

  async function loadWork() {
    const session = state.session;
    const seq = ++state.workSeq;
    const query = workQuery();
    const page = await api("/api/v1/supervisor/work?" + query);
    if (session !== state.session || seq !== state.workSeq) return;
    state.next = page.next || null;
    renderWork(page.items || [], query);
  }

  function renderWork(items, query) {
    const table = $("work-table");
    table.dataset.query = query;
    table.dataset.rows = String(items.length);
    const pageNumber = state.cursors.length;
    $("page-info").textContent = items.length
      ? "Page " + pageNumber + " · rows " + ((pageNumber - 1) * PAGE_SIZE + 1) + "–" + ((pageNumber - 1) * PAGE_SIZE + items.length) + (state.next ? "" : " (last page)")
      : "Page " + pageNumber;
    $("first-page").disabled = pageNumber === 1;
    $("prev-page").disabled = pageNumber === 1;
    $("next-page").disabled = !state.next;
    $("work-summary").textContent = describeFilters();

    // Redrawing identical rows every 15 s would steal focus from a button the user is on.
    const key = query + "|" + JSON.stringify(items);
    if (key === state.itemsKey) return;
    state.itemsKey = key;
    state.items = items;

    const rows = $("work-rows");
    if (!items.length) {
      const tr = el("tr", { class: "empty-row" });
      tr.append(el("td", { colspan: "10" }, pageNumber > 1 ? "No more work on this page. Go back to the first page." : "No encounters match these filters."));
      rows.replaceChildren(tr);
      return;
    }
    rows.replaceChildren(...items.map(workRow));
  }

  function workRow(item) {
    const tr = el("tr", {
      "data-encounter-id": item.encounter_id,
      "data-external-id": item.external_id,
      "data-stage": item.stage,
      "data-queue": item.queue || "",
      "data-assignee": item.assignee || "",
      "data-practice": item.practice_code,
    });
    const idCell = el("td", { class: "id-cell" });
    idCell.append(el("span", { class: "external-id" }, item.external_id), el("span", { class: "encounter-id", title: item.encounter_id }, item.encounter_id.slice(0, 8).toLowerCase() + "…"));
    tr.append(idCell);
    tr.append(el("td", {}, item.practice_code));
    tr.append(cellWith(el("span", { class: "stage stage-" + item.stage }, humanize(item.stage))));
    tr.append(el("td", {}, item.queue ? capitalize(item.queue) : "—"));
    tr.append(el("td", { class: "num" }, String(item.priority)));
    tr.append(el("td", { class: "nowrap" }, item.date_of_service));
    tr.append(el("td", { class: "col-specialty" }, humanize(item.specialty || "")));

    const assigneeCell = el("td", {});
    if (item.assignee) {
      assigneeCell.append(el("span", { class: "assignee", title: item.assignee }, item.assignee_username || shortId(item.assignee)));
      if (item.lease_expires_at) assigneeCell.append(el("span", { class: "lease" }, "lease until " + formatClock(item.lease_expires_at)));
    } else {
      assigneeCell.append(el("span", { class: "muted" }, item.queue ? "unassigned" : "—"));
    }
    tr.append(assigneeCell);
    tr.append(el("td", { class: "nowrap", title: item.enqueued_at || "" }, item.enqueued_at ? formatDuration(ageSeconds(item.enqueued_at)) : "—"));

    const cell = el("td", { class: "actions" });
    const actions = el("div", { class: "actions-inner" });
    cell.append(actions);
    if (item.queue) {
      const reassign = el("button", { type: "button", class: "button small reassign", "data-encounter-id": item.encounter_id }, "Reassign");
      reassign.addEventListener("click", () => openReassign(item));
      actions.append(reassign);
      if (item.assignee) {
        const release = el("button", { type: "button", class: "button small ghost release", "data-encounter-id": item.encounter_id }, "Release");
        release.addEventListener("click", () => openRelease(item));
        actions.append(release);
      }
    }
    tr.append(cell);
    return tr;
  }

  function describeFilters() {
    const f = state.filters;
    const parts = [];
    if (f.queue) parts.push(f.queue + " queue");
    if (f.stage) parts.push(humanize(f.stage).toLowerCase());
    if (f.practice) parts.push("practice " + f.practice);
    if (f.assignee) {
      const user = state.users.find((u) => u.id === f.assignee);
      parts.push("assigned to " + (user ? user.username : shortId(f.assignee)));
    }
    if (f.from || f.to) parts.push("service " + (f.from || "…") + " to " + (f.to || "…"));
    return parts.length ? "Showing " + parts.join(", ") + ", oldest service date first" : "All encounters, oldest service date first";
  }

  function readFilters() {
    const filters = {
      queue: $("filter-queue").value,
      stage: $("filter-stage").value,
      practice: $("filter-practice").value,
      assignee: $("filter-assignee").value,
      from: $("filter-from").value,
      to: $("filter-to").value,
    };
    if (filters.from && filters.to && filters.from > filters.to) {
      showMessage("“Service from” is after “Service to”; no encounter can match.", "error", "filters");
      return null;
    }
    return filters;
  }

  async function applyFilters() {
    const filters = readFilters();
    if (!filters) return;
    if (state.messageSource === "filters") clearMessage();
    state.filters = filters;
    state.cursors = [null];
    await reloadWork();
  }

  async function reloadWork() {
    const table = $("work-table");
    table.setAttribute("aria-busy", "true");
    try {
      await loadWork();
      markUpdated();
    } catch (error) {
      if (!handleAuthError(error)) showMessage("Could not load the work list: " + describeError(error), "error", "refresh");
    } finally {
      table.removeAttribute("aria-busy");
    }
  }

  // ---- Users -------------------------------------------------------------------------------

  async function loadUsers() {
    const body = await api("/api/v1/supervisor/users");
    state.users = (body && body.users) || [];
    state.usersLoadedAt = Date.now();
    const select = $("filter-assignee");
    const current = select.value;
    select.replaceChildren(
      el("option", { value: "" }, "Anyone"),
      ...state.users.map((u) => el("option", { value: u.id }, u.display_name + " (" + u.username + ")"))
    );
    select.value = state.users.some((u) => u.id === current) ? current : "";
    return state.users;
  }

  // ---- Reassign and release ----------------------------------------------------------------

  async function openReassign(item) {
    state.dialogItem = item;
    const dialog = $("reassign-dialog");
    const role = ROLE_FOR_QUEUE[item.queue];
    $("reassign-heading").textContent = "Reassign " + item.external_id;
    $("reassign-item").textContent =
      capitalize(item.queue) + " queue · " + humanize(item.stage) + " · service " + item.date_of_service +
      " · " + (item.assignee ? "now with " + (item.assignee_username || shortId(item.assignee)) : "unassigned");
    $("reassign-reason").value = "";
    setFieldError("reassign-error", "");
    const select = $("reassign-user");
    select.replaceChildren(el("option", { value: "" }, "Loading people…"));
    $("reassign-submit").disabled = true;
    dialog.showModal();
    try {
      if (!state.users.length || Date.now() - state.usersLoadedAt > 60000) await loadUsers();
    } catch (error) {
      if (handleAuthError(error)) return;
      setFieldError("reassign-error", "Could not load people: " + describeError(error));
      return;
    }
    if (state.dialogItem !== item) return;
    const eligible = state.users.filter((u) => u.roles.includes(role) && u.id.toLowerCase() !== (item.assignee || "").toLowerCase());
    select.replaceChildren(
      el("option", { value: "" }, eligible.length ? "Choose a " + role + "…" : "No other " + role + " is available"),
      ...eligible.map((u) => el("option", { value: u.id }, u.display_name + " (" + u.username + ")"))
    );
    $("reassign-submit").disabled = eligible.length === 0;
    select.focus();
  }

  async function submitReassign(event) {
    event.preventDefault();
    const item = state.dialogItem;
    if (!item) return;
    const userID = $("reassign-user").value;
    const reason = $("reassign-reason").value.trim();
    if (!userID) return setFieldError("reassign-error", "Choose who should take this work.");
    if (!reason) {
      $("reassign-reason").focus();
      return setFieldError("reassign-error", "Give a reason; it goes into the audit trail.");
    }
    setFieldError("reassign-error", "");
    const button = $("reassign-submit");
    button.disabled = true;
    button.textContent = "Reassigning…";
    try {
      await api("/api/v1/supervisor/work/" + encodeURIComponent(item.encounter_id) + "/reassign", {
        method: "POST",
        body: { to_user: userID, reason },
      });
      const user = state.users.find((u) => u.id === userID);
      $("reassign-dialog").close();
      showMessage("Reassigned " + item.external_id + " to " + (user ? user.display_name : userID) + ".", "success", "action", item.encounter_id);
      await refreshAll(true);
    } catch (error) {
      if (!handleAuthError(error)) setFieldError("reassign-error", describeError(error));
    } finally {
      button.disabled = false;
      button.textContent = "Reassign";
    }
  }

  function openRelease(item) {
    state.dialogItem = item;
    $("release-heading").textContent = "Release " + item.external_id;
    $("release-item").textContent =
      "Takes the lease from " + (item.assignee_username || shortId(item.assignee)) + " and puts the encounter back in the " + item.queue + " queue for anyone to pick up.";
    $("release-reason").value = "";
    setFieldError("release-error", "");
    $("release-dialog").showModal();
    $("release-reason").focus();
  }

  async function submitRelease(event) {
    event.preventDefault();
    const item = state.dialogItem;
    if (!item) return;
    const reason = $("release-reason").value.trim();
    if (!reason) {
      $("release-reason").focus();
      return setFieldError("release-error", "Give a reason; it goes into the audit trail.");
    }
    const button = $("release-submit");
    button.disabled = true;
    try {
      await api("/api/v1/supervisor/work/" + encodeURIComponent(item.encounter_id) + "/release", { method: "POST", body: { reason } });
      $("release-dialog").close();
      showMessage("Released " + item.external_id + " back to the " + item.queue + " queue.", "success", "action", item.encounter_id);
      await refreshAll(true);
    } catch (error) {
      if (!handleAuthError(error)) setFieldError("release-error", describeError(error));
    } finally {
      button.disabled = false;
    }
  }

  // ---- Messages ----------------------------------------------------------------------------

  function showMessage(text, kind, source, encounterID) {
    const box = $("message");
    $("message-text").textContent = text;
    box.dataset.kind = kind;
    box.className = "message " + kind;
    if (encounterID) box.dataset.encounterId = encounterID;
    else delete box.dataset.encounterId;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.hidden = false;
    state.messageSource = source || null;
  }

  function clearMessage() {
    const box = $("message");
    box.hidden = true;
    $("message-text").textContent = "";
    delete box.dataset.kind;
    delete box.dataset.encounterId;
    state.messageSource = null;
  }

  function setFieldError(id, text) {
    const p = $(id);
    p.textContent = text;
    p.hidden = !text;
  }

  // ---- Formatting and DOM helpers ----------------------------------------------------------

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function cellWith(child) {
    const td = el("td", {});
    td.append(child);
    return td;
  }

  function capitalize(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  function humanize(text) {
    return capitalize(String(text).replace(/_/g, " "));
  }

  function shortId(id) {
    return String(id).slice(0, 8).toLowerCase() + "…";
  }

  const countFormat = new Intl.NumberFormat("en-US");
  const moneyFormat = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });

  function formatCount(n) {
    return countFormat.format(n);
  }

  function formatMoney(n) {
    return moneyFormat.format(n);
  }

  function formatDuration(seconds) {
    if (!(seconds >= 0)) return "—";
    if (seconds < 60) return "under 1 min";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " h" + (minutes % 60 ? " " + (minutes % 60) + " min" : "");
    const days = Math.floor(hours / 24);
    return days + " d" + (hours % 24 && days < 10 ? " " + (hours % 24) + " h" : "");
  }

  function ageSeconds(iso) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? NaN : Math.max(0, (Date.now() - t) / 1000);
  }

  function formatClock(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  // ---- Wiring ------------------------------------------------------------------------------

  function init() {
    const stageSelect = $("filter-stage");
    for (const stage of STAGES) stageSelect.append(el("option", { value: stage }, humanize(stage)));

    $("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) {
        showSignIn("Enter a supervisor token.");
        return;
      }
      startSession(token);
    });
    $("sign-out").addEventListener("click", () => signOut());
    $("refresh").addEventListener("click", () => refreshAll(true));
    $("message-close").addEventListener("click", clearMessage);

    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      applyFilters();
    });
    for (const id of ["filter-queue", "filter-stage", "filter-practice", "filter-assignee"]) {
      $(id).addEventListener("change", applyFilters);
    }
    $("clear-filters").addEventListener("click", () => {
      $("filters").reset();
      applyFilters();
    });
    $("first-page").addEventListener("click", () => {
      state.cursors = [null];
      reloadWork();
    });
    $("prev-page").addEventListener("click", () => {
      if (state.cursors.length > 1) state.cursors.pop();
      reloadWork();
    });
    $("next-page").addEventListener("click", () => {
      if (!state.next) return;
      state.cursors.push(state.next);
      reloadWork();
    });

    $("reassign-form").addEventListener("submit", submitReassign);
    $("reassign-cancel").addEventListener("click", () => $("reassign-dialog").close());
    $("release-form").addEventListener("submit", submitRelease);
    $("release-cancel").addEventListener("click", () => $("release-dialog").close());
    for (const dialog of [$("reassign-dialog"), $("release-dialog")]) {
      dialog.addEventListener("close", () => { state.dialogItem = null; });
    }

    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { if (state.queues) renderQueues(state.queues); }, 150);
    });
    // A tab left in the background catches up as soon as it is looked at again.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && state.token) refreshAll(true);
    });

    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) startSession(saved);
    else showSignIn();
  }

  init();
})();
