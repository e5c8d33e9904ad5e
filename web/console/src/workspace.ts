// Workspace pages: conversations (with live messages over the WebSocket,
// docs/realtime.md) and agents, each with a sharing dialog.
import type { Schemas } from "../../../clients/typescript/src/index";
import { field, h, select, uid, when } from "./dom";
import { atrium, can } from "./state";
import { busy, describe, notify, onSubmit, showError } from "./ui";

type Kind = "conversations" | "agents" | "documents" | "knowledge-graphs";
const sharePerm: Record<Kind, string> = {
  conversations: "conversation.share",
  agents: "agent.share",
  documents: "document.share",
  "knowledge-graphs": "knowledge.share",
};

function card(title: string, testid: string, ...children: (Node | string | null | false)[]): HTMLElement {
  return h("section", { class: "card", testid }, h("h2", { text: title }), ...children);
}

function heading(root: HTMLElement, title: string, intro: string) {
  root.append(h("h1", { text: title, attrs: { tabindex: "-1" } }), h("p", { class: "meta", text: intro }));
}

// ------------------------------------------------------------- sharing ----

// Typed per resource: openapi-fetch checks each path.
async function listShares(kind: Kind, id: string): Promise<Schemas["Share"][]> {
  switch (kind) {
    case "conversations":
      return (await atrium.call((c) => c.GET("/conversations/{conversationId}/shares", { params: { path: { conversationId: id } } }))).items;
    case "agents":
      return (await atrium.call((c) => c.GET("/agents/{agentId}/shares", { params: { path: { agentId: id } } }))).items;
    case "documents":
      return (await atrium.call((c) => c.GET("/documents/{documentId}/shares", { params: { path: { documentId: id } } }))).items;
    case "knowledge-graphs":
      return (await atrium.call((c) => c.GET("/knowledge-graphs/{graphId}/shares", { params: { path: { graphId: id } } }))).items;
  }
}

async function addShare(kind: Kind, id: string, body: Schemas["ShareCreate"]) {
  switch (kind) {
    case "conversations":
      return atrium.call((c) => c.POST("/conversations/{conversationId}/shares", { params: { path: { conversationId: id } }, body }));
    case "agents":
      return atrium.call((c) => c.POST("/agents/{agentId}/shares", { params: { path: { agentId: id } }, body }));
    case "documents":
      return atrium.call((c) => c.POST("/documents/{documentId}/shares", { params: { path: { documentId: id } }, body }));
    case "knowledge-graphs":
      return atrium.call((c) => c.POST("/knowledge-graphs/{graphId}/shares", { params: { path: { graphId: id } }, body }));
  }
}

async function revokeShare(kind: Kind, id: string, shareId: string) {
  switch (kind) {
    case "conversations":
      return atrium.call((c) =>
        c.DELETE("/conversations/{conversationId}/shares/{shareId}", { params: { path: { conversationId: id, shareId } } }),
      );
    case "agents":
      return atrium.call((c) => c.DELETE("/agents/{agentId}/shares/{shareId}", { params: { path: { agentId: id, shareId } } }));
    case "documents":
      return atrium.call((c) => c.DELETE("/documents/{documentId}/shares/{shareId}", { params: { path: { documentId: id, shareId } } }));
    case "knowledge-graphs":
      return atrium.call((c) => c.DELETE("/knowledge-graphs/{graphId}/shares/{shareId}", { params: { path: { graphId: id, shareId } } }));
  }
}

/**
 * shareButton opens an inline sharing dialog for one resource: who has
 * access (users and teams, viewer/editor/owner), add or change, revoke.
 * Shown only with the resource's share permission; the server also needs
 * owner access to the resource itself.
 */
export function shareButton(kind: Kind, id: string, name: string): HTMLElement | null {
  if (!can(sharePerm[kind])) return null;
  const panel = h("div", { class: "inline", testid: "share-dialog", hidden: true, attrs: { role: "group", "aria-label": `Sharing of ${name}` } });
  const open = h("button", { type: "button", class: "small", testid: "share-open", text: "Share" });
  open.addEventListener("click", () =>
    void busy(open, async () => {
      if (!panel.hidden) {
        panel.hidden = true;
        return;
      }
      await renderShares(panel, kind, id, name);
      panel.hidden = false;
    }),
  );
  return h("div", { class: "share" }, open, panel);
}

async function renderShares(panel: HTMLElement, kind: Kind, id: string, name: string) {
  const [shares, members, teams] = await Promise.all([
    listShares(kind, id),
    can("member.read") ? atrium.call((c) => c.GET("/members", { params: { query: { limit: 100 } } })).then((p) => p.items) : [],
    can("team.read") ? atrium.call((c) => c.GET("/teams", { params: { query: { limit: 100 } } })).then((p) => p.items) : [],
  ]);
  const label = (s: Schemas["Share"]) =>
    s.subject_type === "team"
      ? `Team ${teams.find((t) => t.id === s.subject_id)?.name || s.subject_id.slice(0, 8)}`
      : members.find((m) => m.user_id === s.subject_id)?.display_name || s.subject_id.slice(0, 8);
  const who = select("share-subject", [
    ...members.map((m): [string, string] => [`user:${m.user_id}`, m.display_name]),
    ...teams.map((t): [string, string] => [`team:${t.id}`, `Team ${t.name}`]),
  ]);
  const level = select("share-level", [["viewer", "Viewer (read)"], ["editor", "Editor (change)"], ["owner", "Owner (share, delete)"]], "viewer");
  const form = h("form", { testid: "share-form", attrs: { novalidate: "" } });
  form.append(field("With", who), field("Access", level), h("button", { type: "submit", class: "small", testid: "share-submit", text: "Share" }));
  onSubmit(form, async () => {
    const [type, subject] = who.value.split(":");
    if (!subject) throw new Error("Choose someone to share with.");
    await addShare(kind, id, {
      subject_type: type as Schemas["ShareSubjectType"],
      subject_id: subject,
      level: level.value as Schemas["ShareLevel"],
    });
    await renderShares(panel, kind, id, name);
    notify(`${name} shared.`);
  });
  panel.replaceChildren(
    h("p", { text: `Who has access to ${name}` }),
    h(
      "ul",
      { class: "list", testid: "share-list" },
      ...shares.map((s) =>
        h(
          "li",
          { class: "item", testid: "share-item", data: { subject: s.subject_id, level: s.level } },
          h("span", { text: `${label(s)} · ${s.level}` }),
          h(
            "div",
            { class: "row" },
            (() => {
              const b = h("button", { type: "button", class: "small danger", testid: "share-revoke", text: "Revoke" });
              b.addEventListener("click", () =>
                void busy(b, async () => {
                  await revokeShare(kind, id, s.id);
                  await renderShares(panel, kind, id, name);
                  notify("Share revoked.");
                }),
              );
              return b;
            })(),
          ),
        ),
      ),
      shares.length ? null : h("li", { class: "item meta", text: "Not shared with anyone yet." }),
    ),
    form,
  );
}

// -------------------------------------------------------- conversations ----

let socket: WebSocket | null = null;

/** closeLive ends the live connection (on leaving the page or switching conversation). */
export function closeLive() {
  socket?.close(1000, "leaving");
  socket = null;
}

async function renderConversations(root: HTMLElement) {
  closeLive();
  heading(root, "Conversations", "Conversations you can read; messages arrive live.");
  const agents = can("agent.read") ? (await atrium.call((c) => c.GET("/agents", { params: { query: { limit: 100 } } }))).items : [];
  const list = h("ul", { class: "list", testid: "conversations-list" });
  const thread = h("div", { testid: "conversation-view", hidden: true });
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/conversations", { params: { query: { limit: 50 } } }));
    list.replaceChildren(
      ...page.items.map((cv) => {
        const open = h("button", { type: "button", class: "small", testid: "conversation-open", text: "Open" });
        open.addEventListener("click", () => void busy(open, () => openConversation(thread, cv, agents)));
        return h(
          "li",
          { class: "item", testid: "conversation-item", data: { conversationId: cv.id } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "conversation-title", text: cv.title || "Untitled" }),
            h("span", {
              class: "meta",
              text: [cv.agent_id ? `agent ${agents.find((a) => a.id === cv.agent_id)?.name || ""}` : "", cv.status, `updated ${when(cv.updated_at)}`]
                .filter(Boolean)
                .join(" · "),
            }),
          ),
          h("div", { class: "row" }, open, shareButton("conversations", cv.id, cv.title || "this conversation")),
        );
      }),
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "conversations-empty", text: "No conversations yet." }));
  };
  root.append(card("Conversations", "conversations-card", list), thread);
  if (can("conversation.create")) {
    const title = h("input", { testid: "conversation-new-title", attrs: { maxlength: "200" } });
    const agent = select("conversation-new-agent", [["", "No agent"], ...agents.map((a): [string, string] => [a.id, a.name])]);
    const form = h("form", { testid: "conversation-form", attrs: { novalidate: "" } });
    form.append(field("Title", title), ...(agents.length ? [field("Agent", agent)] : []), h("button", { type: "submit", class: "primary", testid: "conversation-submit", text: "Start conversation" }));
    onSubmit(form, async () => {
      const cv = await atrium.call((c) =>
        c.POST("/conversations", { body: { title: title.value.trim() || undefined, agent_id: agent.value || undefined } }),
      );
      form.reset();
      await load();
      await openConversation(thread, cv, agents);
      notify("Conversation started.");
    });
    root.append(card("New conversation", "conversation-new-card", form));
  }
  await load();
}

async function openConversation(thread: HTMLElement, cv: Schemas["Conversation"], agents: Schemas["Agent"][]) {
  closeLive();
  const messages = h("ol", { class: "messages", testid: "messages-list", attrs: { "aria-live": "polite" } });
  const live = h("p", { class: "meta", testid: "conversation-live", data: { state: "connecting" }, text: "Connecting…" });
  const seen = new Set<string>();
  const add = (m: Schemas["Message"]) => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    messages.querySelector('[data-testid="message-streaming"]')?.remove();
    messages.append(
      h(
        "li",
        { class: `message ${m.role}`, testid: "message-item", data: { messageId: m.id, role: m.role } },
        h("span", { class: "meta", text: `${m.role} · ${when(m.created_at)}` }),
        h("p", { testid: "message-content", text: m.content }),
      ),
    );
  };
  const page = await atrium.call((c) =>
    c.GET("/conversations/{conversationId}/messages", { params: { path: { conversationId: cv.id }, query: { limit: 100 } } }),
  );
  page.items.forEach(add);

  const content = h("textarea", { testid: "message-content-input", attrs: { rows: "3", maxlength: "32000" } });
  const ask = h("input", { type: "checkbox", testid: "message-reply" });
  const form = h("form", { testid: "message-form", attrs: { novalidate: "" } });
  const agent = agents.find((a) => a.id === cv.agent_id);
  form.append(
    field("Message", content),
    ...(agent && can("llm.use") ? [h("label", { class: "check" }, ask, `Ask ${agent.name} to reply`)] : []),
    h("button", { type: "submit", class: "primary", testid: "message-submit", text: "Send" }),
  );
  onSubmit(form, async () => {
    const text = content.value.trim();
    if (!text) throw new Error("Write a message.");
    const res = await atrium.call((c) =>
      c.POST("/conversations/{conversationId}/messages", {
        params: { path: { conversationId: cv.id } },
        body: { role: "user", content: text, reply: ask.checked || undefined },
      }),
    );
    add(res.message);
    if (res.reply) add(res.reply);
    form.reset();
  });
  thread.replaceChildren(
    card(
      cv.title || "Untitled",
      "conversation-card",
      live,
      messages,
      can("message.create") ? form : h("p", { class: "meta", text: "You can read this conversation." }),
    ),
  );
  thread.hidden = false;
  connectLive(cv.id, live, add, messages);
}

// connectLive subscribes to the conversation over the WebSocket: the token is
// offered as a subprotocol (never in the URL), see docs/realtime.md.
function connectLive(
  conversationId: string,
  live: HTMLElement,
  add: (m: Schemas["Message"]) => void,
  messages: HTMLElement,
) {
  const t = atrium.tokens();
  if (!t) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`;
  const ws = new WebSocket(url, ["atrium.v1", `bearer.${t.access_token}`]);
  socket = ws;
  const state = (s: string, text: string) => {
    live.dataset.state = s;
    live.textContent = text;
  };
  ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "subscribe", conversation_id: conversationId })));
  ws.addEventListener("message", (ev) => {
    let e: { type: string; conversation_id?: string; data?: Record<string, unknown> };
    try {
      e = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    if (e.conversation_id && e.conversation_id !== conversationId) return;
    switch (e.type) {
      case "subscribed":
      case "resumed":
        state("live", "Live: new messages appear as they are written.");
        break;
      case "message.created":
        add(e.data as unknown as Schemas["Message"]);
        break;
      case "assistant.token": {
        let s = messages.querySelector<HTMLElement>('[data-testid="message-streaming"]');
        if (!s) {
          s = h("li", { class: "message assistant", testid: "message-streaming" }, h("span", { class: "meta", text: "assistant · writing…" }), h("p"));
          messages.append(s);
        }
        const d = e.data || {};
        s.querySelector("p")!.textContent += String(d.token ?? d.text ?? d.delta ?? "");
        break;
      }
      case "assistant.done":
        break; // the reply arrives as message.created
      case "unsubscribed":
        state("closed", "No longer live: your access to this conversation ended.");
        break;
      case "error":
        state("error", `Live updates paused: ${String(e.data?.message || e.data?.code || "error")}`);
        break;
    }
  });
  ws.addEventListener("close", (ev) => {
    if (socket === ws) {
      socket = null;
      if (ev.code !== 1000) state("closed", "Disconnected: reopen the conversation to see new messages.");
    }
  });
  ws.addEventListener("error", () => console.error(`atrium console: ${describe(new Error("WebSocket error"))}`));
}

// --------------------------------------------------------------- agents ----

async function renderAgents(root: HTMLElement) {
  heading(root, "Agents", "An agent answers in conversations: its instructions, model and context documents.");
  const list = h("ul", { class: "list", testid: "agents-list" });
  let models: [string, string][] = [];
  if ((can("agent.create") || can("agent.update")) && can("llm.use")) {
    try {
      models = (await atrium.call((c) => c.GET("/llm/models"))).items.map((m) => [m.id, `${m.id} (${m.provider})`]);
    } catch (e) {
      showError(e);
    }
  }
  const modelControl = (testid: string, value = ""): HTMLInputElement | HTMLSelectElement => {
    if (!models.length) return h("input", { testid, value, attrs: { maxlength: "200" } });
    const options = value && !models.some(([id]) => id === value) ? [[value, value] as [string, string], ...models] : models;
    return select(testid, options, value);
  };
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/agents", { params: { query: { limit: 100 } } }));
    // Editing needs agent.update and editor access to that agent: ask the
    // server which ones (POST /authz/check), rather than guess from shares.
    let editable = new Set<string>();
    if (can("agent.update") && page.items.length) {
      const res = await atrium.call((c) =>
        c.POST("/authz/check", {
          body: { checks: page.items.map((a) => ({ permission: "agent.update", resource_type: "agent" as const, resource_id: a.id })) },
        }),
      );
      editable = new Set(page.items.filter((_, i) => res.results[i]?.allowed).map((a) => a.id));
    }
    list.replaceChildren(
      ...page.items.map((a) => {
        const li = h(
          "li",
          { class: "item", testid: "agent-item", data: { agentId: a.id } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "agent-name", text: a.name }),
            h("span", {
              class: "meta",
              testid: "agent-meta",
              text: [a.model, a.description, `${a.document_ids.length} documents`, `${a.knowledge_graph_ids.length} graphs`].filter(Boolean).join(" · "),
            }),
            a.instructions ? h("span", { class: "excerpt", testid: "agent-instructions", text: a.instructions.slice(0, 200) }) : null,
          ),
        );
        const row = h("div", { class: "row" }, shareButton("agents", a.id, a.name));
        li.append(row);
        if (editable.has(a.id)) {
          const slot = h("div", { class: "inline", testid: "agent-edit-slot", hidden: true });
          const edit = h("button", { type: "button", class: "small", testid: "agent-edit", text: "Edit" });
          edit.addEventListener("click", () =>
            void busy(edit, async () => {
              if (!slot.hidden) {
                slot.hidden = true;
                slot.replaceChildren();
                return;
              }
              slot.replaceChildren(await agentEditForm(a, modelControl, load));
              slot.hidden = false;
            }),
          );
          row.prepend(edit);
          li.append(slot);
        }
        return li;
      }),
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "agents-empty", text: "No agents yet." }));
  };
  root.append(card("Agents", "agents-card", list));
  if (can("agent.create")) {
    const name = h("input", { testid: "agent-new-name", attrs: { maxlength: "200" } });
    const model = modelControl("agent-new-model");
    const instructions = h("textarea", { testid: "agent-new-instructions", attrs: { rows: "4" } });
    const form = h("form", { testid: "agent-form", attrs: { novalidate: "" } });
    form.append(field("Name", name), field("Model", model), field("Instructions", instructions), h("button", { type: "submit", class: "primary", testid: "agent-submit", text: "Create agent" }));
    onSubmit(form, async () => {
      if (!name.value.trim()) throw new Error("Enter a name.");
      if (!model.value.trim()) throw new Error("Choose a model.");
      await atrium.call((c) => c.POST("/agents", { body: { name: name.value.trim(), model: model.value.trim(), instructions: instructions.value } }));
      form.reset();
      await load();
      notify("Agent created.");
    });
    root.append(card("New agent", "agent-new-card", form));
  }
  await load();
}

/**
 * agentEditForm edits an agent: name, description, model, instructions and
 * its context (documents and knowledge graphs, from those the editor can
 * read; context the editor cannot see is kept as it is).
 */
async function agentEditForm(
  a: Schemas["Agent"],
  modelControl: (testid: string, value?: string) => HTMLInputElement | HTMLSelectElement,
  reload: () => Promise<void>,
): Promise<HTMLElement> {
  const [docs, graphs] = await Promise.all([
    can("document.read") ? atrium.call((c) => c.GET("/documents", { params: { query: { limit: 100 } } })).then((p) => p.items) : Promise.resolve([]),
    can("knowledge.read") ? atrium.call((c) => c.GET("/knowledge-graphs", { params: { query: { limit: 100 } } })).then((p) => p.items) : Promise.resolve([]),
  ]);
  const name = h("input", { testid: "agent-edit-name", value: a.name, attrs: { maxlength: "200" } });
  const desc = h("input", { testid: "agent-edit-description", value: a.description, attrs: { maxlength: "2000" } });
  const model = modelControl("agent-edit-model", a.model);
  const instructions = h("textarea", { testid: "agent-edit-instructions", value: a.instructions, attrs: { rows: "6", maxlength: "32000" } });
  const checks = (legend: string, testid: string, items: { id: string; label: string }[], chosen: string[]) => {
    const fs = h("fieldset", { class: "group", testid }, h("legend", { text: legend }));
    for (const it of items) {
      const id = uid("ctx");
      fs.append(h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, value: it.id, checked: chosen.includes(it.id) }), it.label));
    }
    if (!items.length) fs.append(h("p", { class: "meta", text: "None you can read." }));
    return fs;
  };
  const docBox = checks("Context documents", "agent-edit-documents", docs.map((d) => ({ id: d.id, label: d.title })), a.document_ids);
  const graphBox = checks("Knowledge graphs", "agent-edit-graphs", graphs.map((g) => ({ id: g.id, label: g.name })), a.knowledge_graph_ids);
  // Context this editor cannot list stays attached: only what they see is theirs to change.
  const keep = (current: string[], shown: { id: string }[], box: HTMLElement) => [
    ...current.filter((id) => !shown.some((s) => s.id === id)),
    ...[...box.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value),
  ];
  const form = h("form", { testid: "agent-edit-form", attrs: { novalidate: "" } });
  form.append(
    field("Name", name),
    field("Description", desc),
    field("Model", model),
    field("Instructions", instructions),
    docBox,
    graphBox,
    h("div", { class: "row" }, h("button", { type: "submit", class: "small primary-inline", testid: "agent-edit-save", text: "Save agent" })),
  );
  onSubmit(form, async () => {
    if (!name.value.trim()) throw new Error("Enter a name.");
    if (!model.value.trim()) throw new Error("Choose a model.");
    await atrium.call((c) =>
      c.PATCH("/agents/{agentId}", {
        params: { path: { agentId: a.id } },
        body: {
          name: name.value.trim(),
          description: desc.value.trim(),
          model: model.value.trim(),
          instructions: instructions.value,
          document_ids: keep(a.document_ids, docs, docBox),
          knowledge_graph_ids: keep(a.knowledge_graph_ids, graphs, graphBox),
        },
      }),
    );
    await reload();
    notify(`Agent ${name.value.trim()} saved.`);
  });
  return form;
}

// ----------------------------------------------------- knowledge graphs ----

async function renderGraphs(root: HTMLElement) {
  heading(
    root,
    "Knowledge graphs",
    "Nodes and the edges between them. The API has no node listing: a graph shows the nodes added here and those reached through a neighbourhood.",
  );
  const list = h("ul", { class: "list", testid: "graphs-list" });
  const view = h("div", { testid: "graph-view", hidden: true });
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/knowledge-graphs", { params: { query: { limit: 100 } } }));
    list.replaceChildren(
      ...page.items.map((g) => {
        const open = h("button", { type: "button", class: "small", testid: "graph-open", text: "Open" });
        open.addEventListener("click", () => {
          openGraph(view, g);
        });
        return h(
          "li",
          { class: "item", testid: "graph-item", data: { graphId: g.id } },
          h("div", { class: "item-main" }, h("strong", { testid: "graph-name", text: g.name }), h("span", { class: "meta", text: g.description })),
          h("div", { class: "row" }, open, shareButton("knowledge-graphs", g.id, g.name)),
        );
      }),
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "graphs-empty", text: "No knowledge graphs yet." }));
  };
  root.append(card("Knowledge graphs", "graphs-card", list), view);
  if (can("knowledge.create")) {
    const name = h("input", { testid: "graph-new-name", attrs: { maxlength: "200" } });
    const desc = h("input", { testid: "graph-new-description", attrs: { maxlength: "500" } });
    const form = h("form", { testid: "graph-form", attrs: { novalidate: "" } });
    form.append(field("Name", name), field("Description", desc), h("button", { type: "submit", class: "primary", testid: "graph-submit", text: "Create graph" }));
    onSubmit(form, async () => {
      if (!name.value.trim()) throw new Error("Enter a name.");
      await atrium.call((c) => c.POST("/knowledge-graphs", { body: { name: name.value.trim(), description: desc.value.trim() || undefined } }));
      form.reset();
      await load();
      notify("Knowledge graph created.");
    });
    root.append(card("New knowledge graph", "graph-new-card", form));
  }
  await load();
}

function openGraph(view: HTMLElement, g: Schemas["KnowledgeGraph"]) {
  const nodes = new Map<string, Schemas["KGNode"]>();
  const edges = new Map<string, Schemas["KGEdge"]>();
  const nodeList = h("ul", { class: "list", testid: "graph-nodes" });
  const edgeList = h("ul", { class: "list", testid: "graph-edges" });
  const src = select("edge-source", []);
  const dst = select("edge-target", []);
  const label = (id: string) => nodes.get(id)?.label || id.slice(0, 8);
  const draw = () => {
    nodeList.replaceChildren(
      ...[...nodes.values()].map((n) => {
        const nb = h("button", { type: "button", class: "small", testid: "node-neighbourhood", text: "Neighbourhood" });
        nb.addEventListener("click", () =>
          void busy(nb, async () => {
            const res = await atrium.call((c) =>
              c.GET("/knowledge-graphs/{graphId}/nodes/{nodeId}/neighbourhood", { params: { path: { graphId: g.id, nodeId: n.id }, query: { depth: 1 } } }),
            );
            res.nodes.forEach((x) => nodes.set(x.id, x));
            res.edges.forEach((x) => edges.set(x.id, x));
            draw();
            notify(`${res.nodes.length} nodes and ${res.edges.length} edges around ${n.label}.`);
          }),
        );
        return h(
          "li",
          { class: "item", testid: "node-item", data: { nodeId: n.id } },
          h("div", { class: "item-main" }, h("strong", { testid: "node-label", text: n.label }), h("span", { class: "meta", text: n.type })),
          h("div", { class: "row" }, nb),
        );
      }),
    );
    edgeList.replaceChildren(
      ...[...edges.values()].map((e) =>
        h("li", { class: "item", testid: "edge-item" }, h("span", { testid: "edge-text", text: `${label(e.source_id)} —${e.type}→ ${label(e.target_id)}` })),
      ),
    );
    for (const sel of [src, dst]) {
      const v = sel.value;
      sel.replaceChildren(...[...nodes.values()].map((n) => h("option", { value: n.id, text: n.label })));
      if (v) sel.value = v;
    }
  };
  const parts: Node[] = [h("p", { class: "meta", text: "Nodes" }), nodeList, h("p", { class: "meta", text: "Edges" }), edgeList];
  if (can("knowledge.update")) {
    const type = h("input", { testid: "node-new-type", attrs: { placeholder: "e.g. person" } });
    const lbl = h("input", { testid: "node-new-label" });
    const nf = h("form", { testid: "node-form", attrs: { novalidate: "" } });
    nf.append(field("Node label", lbl), field("Type", type), h("button", { type: "submit", class: "small", testid: "node-submit", text: "Add node" }));
    onSubmit(nf, async () => {
      if (!lbl.value.trim() || !type.value.trim()) throw new Error("Enter a label and a type.");
      const n = await atrium.call((c) =>
        c.POST("/knowledge-graphs/{graphId}/nodes", { params: { path: { graphId: g.id } }, body: { label: lbl.value.trim(), type: type.value.trim() } }),
      );
      nodes.set(n.id, n);
      nf.reset();
      draw();
    });
    const etype = h("input", { testid: "edge-new-type", attrs: { placeholder: "e.g. knows" } });
    const ef = h("form", { testid: "edge-form", attrs: { novalidate: "" } });
    ef.append(field("From", src), field("Relation", etype), field("To", dst), h("button", { type: "submit", class: "small", testid: "edge-submit", text: "Add edge" }));
    onSubmit(ef, async () => {
      if (!src.value || !dst.value || !etype.value.trim()) throw new Error("Choose two nodes and a relation.");
      const e = await atrium.call((c) =>
        c.POST("/knowledge-graphs/{graphId}/edges", {
          params: { path: { graphId: g.id } },
          body: { source_id: src.value, target_id: dst.value, type: etype.value.trim() },
        }),
      );
      edges.set(e.id, e);
      ef.reset();
      draw();
    });
    parts.push(nf, ef);
  }
  view.replaceChildren(card(g.name, "graph-card", ...parts));
  view.hidden = false;
  draw();
}

export const workspacePages = [
  { id: "conversations", title: "Conversations", group: "workspace" as const, allowed: (c: (p: string) => boolean) => c("conversation.read"), render: renderConversations },
  { id: "agents", title: "Agents", group: "workspace" as const, allowed: (c: (p: string) => boolean) => c("agent.read"), render: renderAgents },
  { id: "graphs", title: "Knowledge", group: "workspace" as const, allowed: (c: (p: string) => boolean) => c("knowledge.read"), render: renderGraphs },
];
