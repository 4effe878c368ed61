"use strict";
// The auditor's trace viewer. Read-only: every request is a GET to /v1/audit/... with the
// auditor's token. Payloads are data (notes, prompts, model output): they are only ever written
// with textContent, never parsed as markup. $, el and showError come from /static/dom.js.
const TOKEN_KEY = "wardround.audit.token";
const state = { token: sessionStorage.getItem(TOKEN_KEY) || "", cursor: null, run: null,
                steps: new Map(), selected: null };

class ApiError extends Error {
  constructor(status, title, detail) {
    super(`${title}${detail ? ": " + detail : ""}`);
    this.status = status;
    this.detail = detail;
  }
}

async function api(path) {
  // GET only: the viewer never writes.
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  if (!response.ok) {
    let problem = { title: response.statusText, detail: "" };
    try { problem = await response.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, problem.title || response.statusText, problem.detail || "");
  }
  return response.json();
}

function pretty(value) {
  return value === undefined || value === null ? "—" : JSON.stringify(value, null, 2);
}

function ms(value) {
  if (value === null || value === undefined) return "";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

// --- signing in and the chain's status ---------------------------------------------------------

function signedIn(on) {
  $("viewer").hidden = !on;
  $("signin").hidden = on;
  $("signout").hidden = !on;
}

async function signIn() {
  showError("");
  try {
    await showVerification();
  } catch (err) {
    signedIn(false);
    $("verify").textContent = "";
    if (err.status === 403) {
      showError(`Not an auditor: ${err.detail || "this token cannot read the audit trail"}. ` +
                "The trace viewer is for the auditor role only.");
    } else if (err.status === 401) {
      showError("Token not recognised. Ask an administrator for an auditor token.");
    } else {
      showError(err.message);
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, state.token);
  signedIn(true);
  await loadRuns(false);
}

async function showVerification() {
  const report = await api("/v1/audit/verify");
  const status = $("verify");
  if (report.fault) {
    const f = report.fault;
    status.className = "broken";
    status.textContent = `Chain BROKEN: ${f.problem} at event #${f.seq ?? "?"}: ${f.detail}`;
  } else {
    status.className = "ok";
    status.textContent = `Chain verified: ${report.events_checked} events intact` +
      (report.head_seq ? `, head #${report.head_seq}` : "") +
      (report.checkpoints_verified ? `, ${report.checkpoints_verified} signed checkpoints` : "");
  }
}

// --- runs ----------------------------------------------------------------------------------------

function isoFromLocal(value) {
  return value ? new Date(value).toISOString() : "";
}

function runQuery() {
  const params = new URLSearchParams();
  const patient = $("f-patient").value.trim();
  const principal = $("f-principal").value.trim();
  if (patient) params.set("patient", patient);
  if (principal) params.set("principal", principal);
  if ($("f-since").value) params.set("since", isoFromLocal($("f-since").value));
  if ($("f-until").value) params.set("until", isoFromLocal($("f-until").value));
  if ($("f-outcome").value) params.set("outcome", $("f-outcome").value);
  params.set("limit", "50");
  return params;
}

async function loadRuns(more) {
  showError("");
  const params = runQuery();
  if (more && state.cursor) params.set("cursor", state.cursor);
  let page;
  try {
    page = await api(`/v1/audit/runs?${params}`);
  } catch (err) { showError(err.message); return; }
  if (!more) $("runs").replaceChildren();
  for (const run of page.runs) $("runs").append(runButton(run));
  if (!more && page.runs.length === 0) {
    $("runs").append(el("div", { className: "muted", textContent: "No runs match." }));
  }
  state.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
}

// how a run ended (RunOutcome in core/audit/runs.py), in words: never colour alone
const OUTCOME_LABEL = { answered: "answered", paused_for_approval: "paused for approval",
                        failed: "failed", unfinished: "unfinished" };

function runButton(run) {
  const outcome = OUTCOME_LABEL[run.outcome] ? run.outcome : "unknown";
  const button = el("button", { className: `run ${outcome}`, type: "button" },
    el("strong", { textContent: run.run_id }),
    el("span", { className: `outcome ${outcome}`, textContent: OUTCOME_LABEL[outcome] || outcome }),
    el("span", { className: "asked", textContent: run.question || "" }),
    el("small", { textContent: `patient ${run.patient_id ?? "—"} · by ${run.principal_id ?? "—"}` }),
    el("small", { textContent: `${run.started_at} · ${run.events} events` }));
  if (run.errors) button.append(el("small", { className: "errors", textContent: `${run.errors} errors` }));
  button.dataset.run = run.run_id;
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", () => openRun(run.run_id));
  return button;
}

// --- one run: steps, timeline, tree ----------------------------------------------------------------

const KIND_CLASS = { "node.started": "node", "model.call": "model", "kg.query": "kg", "tool.call": "tool" };

function toStep(node) {
  const e = node.event;
  const p = e.payload || {};
  const end = Date.parse(e.ts);
  const step = { id: e.event_id, event: e, kind: e.kind, cls: KIND_CLASS[e.kind] || "event",
                 start: end - (e.duration_ms || 0), end, duration: e.duration_ms,
                 label: e.kind, input: null, output: p, children: [] };
  let children = node.children;
  if (e.kind === "node.started") {
    const finished = children.find((c) => c.event.kind === "node.finished");
    children = children.filter((c) => c !== finished);
    step.label = p.node;
    step.sub = finished && finished.event.payload.step ? finished.event.payload.step : "";
    step.start = end;
    step.input = p;
    step.output = finished ? finished.event.payload : null;
    step.duration = finished ? finished.event.duration_ms : null;
    step.end = finished ? Date.parse(finished.event.ts) : end;
    if (finished && finished.event.payload.error) step.cls += " error";
  } else if (e.kind === "model.call") {
    const req = p.request || {};
    const schema = req.response_format && req.response_format.json_schema;
    step.label = `${schema ? schema.name : "chat"} · ${req.model || "model"}`;
    step.input = req;
    step.output = { response: p.response, usage: p.usage, attempts: p.attempts, error: p.error };
  } else if (e.kind === "kg.query") {
    step.label = p.query;
    step.input = { query: p.query, backend: p.backend, parameters: p.parameters };
    step.output = { rows: p.rows, result_ids: p.result_ids, unresolved: p.unresolved,
                    results: p.results, error: p.error };
  } else if (e.kind === "tool.call") {
    step.label = p.name || p.tool || "tool";
    step.input = p.args ?? p.arguments ?? null;
    step.output = { result: p.result, error: p.error };
  } else if (e.kind === "finding.produced") {
    step.label = `${p.severity || ""} ${p.kind || ""}`.trim();
  }
  if (p.error && !step.cls.includes("error")) step.cls += " error";
  step.children = children.map(toStep);
  return step;
}

function walk(steps, depth, visit) {
  for (const step of steps) {
    visit(step, depth);
    walk(step.children, depth + 1, visit);
  }
}

async function openRun(runId) {
  showError("");
  let tree;
  try {
    tree = await api(`/v1/audit/runs/${encodeURIComponent(runId)}`);
  } catch (err) { showError(err.message); return; }
  for (const b of document.querySelectorAll(".run")) {
    b.setAttribute("aria-pressed", String(b.dataset.run === runId));
  }
  const roots = tree.roots.map(toStep);
  state.run = { id: runId, roots };
  state.steps = new Map();
  let t0 = Infinity, t1 = -Infinity;
  walk(roots, 0, (s) => {
    state.steps.set(s.id, s);
    t0 = Math.min(t0, s.start);
    t1 = Math.max(t1, s.end);
  });
  const first = roots[0] ? roots[0].event : {};
  $("run-summary").className = "";
  $("run-summary").textContent = `${runId} · patient ${first.patient_id ?? "—"} · by ` +
    `${first.principal_id ?? "—"} · ${tree.events} events · ${ms(t1 - t0)}`;
  renderTimeline(roots, t0, Math.max(t1 - t0, 1));
  $("tree").replaceChildren(...roots.map(treeItem));
  clearStep();
}

function renderTimeline(roots, t0, span) {
  const rows = [];
  walk(roots, 0, (step, depth) => {
    if (step.duration === null || step.duration === undefined) return;  // instants: in the tree
    const bar = el("div", { className: `bar ${step.cls}`, title: `${step.label}: ${ms(step.duration)}` });
    bar.style.left = `${((step.start - t0) / span) * 100}%`;
    bar.style.width = `${Math.max(((step.end - step.start) / span) * 100, 0.3)}%`;
    const name = step.sub ? `${step.label} · ${step.sub}` : step.label;
    const label = el("div", { className: "label", textContent: `${"· ".repeat(depth)}${name} ${ms(step.duration)}` });
    const row = el("div", { className: "row" }, label, el("div", { className: "track" }, bar));
    row.dataset.event = step.id;
    row.addEventListener("click", () => selectStep(step.id));
    rows.push(row);
  });
  $("timeline").replaceChildren(...rows);
}

function stepButton(step) {
  const button = el("button", { className: "step", type: "button" },
    el("span", { className: `kind ${step.cls}`, textContent: step.kind }),
    el("span", { className: "name", textContent: step.label || "" }),
    el("span", { className: "sub", textContent: step.sub ? ` · ${step.sub}` : "" }),
    el("span", { className: "dur", textContent: ms(step.duration) }));
  button.dataset.event = step.id;
  button.dataset.kind = step.kind;
  button.addEventListener("click", (ev) => { ev.preventDefault(); selectStep(step.id); });
  return button;
}

function treeItem(step) {
  const item = el("li");
  item.dataset.event = step.id;
  if (!step.children.length) {
    item.append(stepButton(step));
    return item;
  }
  const details = el("details", { open: step.kind === "node.started" });
  const summary = el("summary", {}, stepButton(step));
  details.append(summary, el("ul", {}, ...step.children.map(treeItem)));
  item.append(details);
  return item;
}

// --- one step: input, output, citations, evidence ------------------------------------------------

function clearStep() {
  state.selected = null;
  $("step-title").textContent = "Click a step to see what went in and what came out.";
  $("step-title").className = "muted";
  for (const id of ["step-meta", "step-input", "step-output", "evidence-title",
                    "evidence-source", "evidence-since", "evidence-fact"]) $(id).textContent = "";
  $("citations").replaceChildren();
  $("evidence-step").hidden = true;
}

function selectStep(id) {
  const step = state.steps.get(id);
  if (!step) return;
  state.selected = id;
  for (const node of document.querySelectorAll(".step, .row")) {
    node.classList.toggle("selected", node.dataset.event === id);
  }
  let open = document.querySelector(`li[data-event="${CSS.escape(id)}"]`);
  while (open) {  // reveal the step in the tree
    if (open.tagName === "DETAILS") open.open = true;
    open = open.parentElement;
  }
  const e = step.event;
  $("step-title").className = "";
  $("step-title").textContent = step.label && step.label !== step.kind
    ? `${step.kind} · ${step.label}` : step.kind;
  $("step-meta").textContent = `event #${e.seq} · ${e.event_id} · ${e.ts}` +
    (step.duration !== null && step.duration !== undefined ? ` · ${ms(step.duration)}` : "");
  $("step-input").textContent = pretty(step.input);
  $("step-output").textContent = pretty(step.output);
  const cites = citationsIn(step.kind === "model.call" ? step.output : e.payload);
  $("citations").replaceChildren(...cites.map(citationButton));
  if (!cites.length) $("citations").textContent = "none";
}

function citationsIn(value, found = new Map()) {
  // {kind, ref} objects anywhere in a payload: findings, claims, answers, citation verdicts
  if (Array.isArray(value)) {
    for (const v of value) citationsIn(v, found);
  } else if (value && typeof value === "object") {
    if (typeof value.ref === "string" && ["fhir", "kg", "image", "calc"].includes(value.kind)) {
      found.set(value.ref, value);
    }
    for (const v of Object.values(value)) citationsIn(v, found);
  }
  return [...found.values()];
}

function citationButton(citation) {
  const button = el("button", { className: "cite", type: "button", textContent: citation.ref });
  button.dataset.ref = citation.ref;
  button.title = citation.label || citation.ref;
  button.addEventListener("click", () => followCitation(citation.ref));
  return button;
}

// what the record now says against the digest the run wrote when it read the record
const SINCE_RUN = {
  unchanged: "Unchanged since the run read it.",
  changed: "Changed since the run read it: this is the record as it is now, not what the run saw.",
  removed: "The run read this resource; the record no longer holds it.",
  not_recorded: "The run kept no digest of this resource: it cannot be compared.",
};

async function followCitation(ref) {
  showError("");
  $("evidence-title").textContent = `Looking up ${ref}…`;
  $("evidence-source").textContent = "";
  $("evidence-since").textContent = "";
  $("evidence-since").className = "";
  $("evidence-fact").textContent = "";
  $("evidence-step").hidden = true;
  let evidence;
  try {
    evidence = await api(`/v1/audit/runs/${encodeURIComponent(state.run.id)}/evidence?` +
                         new URLSearchParams({ ref }));
  } catch (err) {
    $("evidence-title").textContent = `${ref}: ${err.message}`;
    return;
  }
  const where = { "kg.query": "as the knowledge graph returned it in this run",
                  finding: "as the citing finding holds it",
                  record: "in the patient's record (as read now)" }[evidence.origin];
  $("evidence-title").textContent = `${evidence.kind} evidence ${evidence.ref} — ${where}`;
  $("evidence-source").textContent = evidence.source ? `Source: ${evidence.source}` : "";
  if (evidence.since_run) {
    $("evidence-since").textContent = SINCE_RUN[evidence.since_run] || evidence.since_run;
    $("evidence-since").className = evidence.since_run;
  }
  $("evidence-fact").textContent = pretty(evidence.fact);
  const holder = evidence.event_id && state.steps.get(evidence.event_id);
  if (holder) {
    $("evidence-step").hidden = false;
    $("evidence-step").onclick = () => selectStep(evidence.event_id);
  }
}

// --- wiring ------------------------------------------------------------------------------------------

$("signin").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.token = $("token").value.trim();
  $("token").value = "";
  signIn();
});
$("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = "";
  location.reload();
});
$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadRuns(false); });
$("more").addEventListener("click", () => loadRuns(true));
document.documentElement.dataset.viewer = "ready";  // handlers attached (the script is deferred)
if (state.token) signIn();
