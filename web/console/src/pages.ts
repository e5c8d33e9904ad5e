// The pages beyond the account: administration (members, invitations, roles,
// teams, tenant settings, audit trail) and the workspace (documents). Each is
// listed only when GET /me's permissions allow it; the server checks every
// call regardless, and a refused one shows its problem in the banner.
import type { Schemas } from "../../../clients/typescript/src/index";
import { field, h, select, uid, when } from "./dom";
import { atrium, can } from "./state";
import { busy, notify, onSubmit } from "./ui";
import { shareButton, workspacePages } from "./workspace";

export interface Page {
  id: string;
  title: string;
  group: "admin" | "workspace";
  allowed: (can: (p: string) => boolean) => boolean;
  render: (root: HTMLElement, me: Schemas["Me"]) => Promise<void>;
}

type Role = Schemas["Role"];
type Member = Schemas["Member"];

function card(title: string, testid: string, ...children: (Node | string | null | false)[]): HTMLElement {
  return h("section", { class: "card", testid }, h("h2", { text: title }), ...children);
}

function heading(root: HTMLElement, title: string, intro: string) {
  root.append(h("h1", { text: title, attrs: { tabindex: "-1" } }), h("p", { class: "meta", text: intro }));
}

function button(label: string, testid: string, fn: () => Promise<unknown>, cls = "small"): HTMLButtonElement {
  const b = h("button", { type: "button", class: cls, testid, text: label });
  b.addEventListener("click", () => void busy(b, fn));
  return b;
}

/** confirmButton asks once more inline before it runs fn. */
function confirmButton(label: string, testid: string, question: string, fn: () => Promise<unknown>): HTMLElement {
  const wrap = h("span", { class: "confirm-wrap" });
  const ask = h("button", { type: "button", class: "small danger", testid, text: label });
  const panel = h(
    "span",
    { class: "inline confirm", testid: `${testid}-panel`, hidden: true },
    h("span", { text: question }),
    button(label, `${testid}-confirm`, fn, "small danger"),
    h("button", { type: "button", class: "small", text: "Cancel", on: { click: () => ((panel.hidden = true), (ask.hidden = false)) } }),
  );
  ask.addEventListener("click", () => {
    panel.hidden = false;
    ask.hidden = true;
  });
  wrap.append(ask, panel);
  return wrap;
}

async function allPages<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; next_cursor?: string }>, max = 10): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < max; i++) {
    const p = await fetchPage(cursor);
    out.push(...p.items);
    if (!p.next_cursor) break;
    cursor = p.next_cursor;
  }
  return out;
}

const listMembers = () =>
  allPages<Member>((cursor) => atrium.call((c) => c.GET("/members", { params: { query: { cursor, limit: 100 } } })));
const listRoles = async (): Promise<Role[]> => (can("role.read") ? (await atrium.call((c) => c.GET("/roles"))).items : []);

function roleName(roles: Role[], id: string): string {
  return roles.find((r) => r.id === id)?.name || id.slice(0, 8);
}

// ------------------------------------------------------------- members ----

async function renderMembers(root: HTMLElement, me: Schemas["Me"]) {
  heading(root, "Members", "Who belongs to this workspace, and with which roles.");
  const [members, roles] = await Promise.all([listMembers(), listRoles()]);
  const manage = can("member.manage");
  const list = h("ul", { class: "list", testid: "members-list" });
  const redraw = async () => {
    root.replaceChildren();
    await renderMembers(root, me);
  };
  for (const m of members) {
    const li = h(
      "li",
      { class: "item", testid: "member-item", data: { userId: m.user_id, status: m.status } },
      h(
        "div",
        { class: "item-main" },
        h("strong", { testid: "member-name", text: m.display_name + (m.user_id === me.user_id ? " (you)" : "") }),
        h("span", {
          class: "meta",
          testid: "member-meta",
          text: [m.role_ids.map((r) => roleName(roles, r)).join(", ") || "no role", m.status, `joined ${when(m.joined_at)}`].join(" · "),
        }),
      ),
    );
    if (manage && m.user_id !== me.user_id) {
      const picker = h("fieldset", { class: "inline", testid: "member-roles-form", hidden: true });
      picker.append(h("legend", { text: `Roles of ${m.display_name}` }));
      for (const r of roles) {
        const id = uid("mr");
        picker.append(
          h(
            "label",
            { class: "check", for: id },
            h("input", { type: "checkbox", id, value: r.id, checked: m.role_ids.includes(r.id), data: { role: r.name } }),
            r.name,
          ),
        );
      }
      picker.append(
        h(
          "div",
          { class: "row" },
          button("Save roles", "member-roles-save", async () => {
            const ids = [...picker.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value);
            if (ids.length === 0) throw new Error("Choose at least one role.");
            await atrium.call((c) => c.PUT("/members/{userId}/roles", { params: { path: { userId: m.user_id } }, body: { role_ids: ids } }));
            await redraw();
            notify(`Roles of ${m.display_name} saved.`);
          }, "small primary-inline"),
        ),
      );
      const suspend = m.status === "active";
      li.append(
        h(
          "div",
          { class: "row" },
          h("button", {
            type: "button",
            class: "small",
            testid: "member-roles",
            text: "Roles",
            on: { click: () => (picker.hidden = !picker.hidden) },
          }),
          button(suspend ? "Suspend" : "Reactivate", suspend ? "member-suspend" : "member-reactivate", async () => {
            await atrium.call((c) =>
              c.PATCH("/members/{userId}", { params: { path: { userId: m.user_id } }, body: { status: suspend ? "suspended" : "active" } }),
            );
            await redraw();
            notify(`${m.display_name} ${suspend ? "suspended" : "reactivated"}.`);
          }),
          confirmButton("Remove", "member-remove", `Remove ${m.display_name} from this workspace? Their sessions here end.`, async () => {
            await atrium.call((c) => c.DELETE("/members/{userId}", { params: { path: { userId: m.user_id } } }));
            await redraw();
            notify(`${m.display_name} removed.`);
          }),
          confirmButton(
            "Erase",
            "member-erase",
            `Erase ${m.display_name}'s account and personal data? This cannot be undone (only for someone who belongs to no other workspace).`,
            async () => {
              await atrium.call((c) =>
                c.POST("/members/{userId}/erasure", { params: { path: { userId: m.user_id } }, body: { confirm: "ERASE" } }),
              );
              await redraw();
              notify(`${m.display_name} erased.`);
            },
          ),
        ),
        picker,
      );
    }
    list.append(li);
  }
  root.append(card(`${members.length} member${members.length === 1 ? "" : "s"}`, "members-card", list));
}

// --------------------------------------------------------- invitations ----

async function renderInvitations(root: HTMLElement) {
  heading(root, "Invitations", "An invitation link lets one person create a passkey and join this workspace.");
  const roles = await listRoles();
  const roleSel = select("invite-role", roles.length ? roles.map((r) => [r.id, r.name]) : [["", "member"]], roles.find((r) => r.name === "member")?.id);
  const email = h("input", { type: "email", testid: "invite-email", attrs: { autocomplete: "off", placeholder: "Optional" } });
  const days = select("invite-expiry", [["1440", "1 day"], ["10080", "7 days"], ["43200", "30 days"]], "10080");
  const result = h("div", { class: "inline", testid: "invite-result", hidden: true });
  const form = h("form", { testid: "invite-form", attrs: { novalidate: "" } });
  form.append(
    field("Role", roleSel),
    field("Email (the link can then only be used by that address)", email),
    field("Expires after", days),
    h("button", { type: "submit", class: "primary", testid: "invite-submit", text: "Create invitation" }),
  );
  const list = h("ul", { class: "list", testid: "invitations-list" });
  onSubmit(form, async () => {
    const created = await atrium.call((c) =>
      c.POST("/invitations", {
        body: {
          role_id: roleSel.value || undefined,
          email: email.value.trim() || undefined,
          expires_in_minutes: Number(days.value),
        },
      }),
    );
    form.reset();
    const link = h("input", { testid: "invite-link", value: created.enrollment_url, attrs: { readonly: "" } });
    const copy = h("button", { type: "button", class: "small", testid: "invite-copy", text: "Copy link" });
    copy.addEventListener("click", async () => {
      link.select();
      try {
        await navigator.clipboard.writeText(created.enrollment_url);
        notify("Link copied.");
      } catch {
        notify("Select the link and copy it.");
      }
    });
    result.replaceChildren(
      h("p", { text: "Send this link to the person you invite. It is shown only now, and works once." }),
      link,
      h("div", { class: "row" }, copy),
    );
    result.hidden = false;
    await loadInvitations(list, roles);
  });
  root.append(card("Invite someone", "invite-card", form, result), card("Invitations", "invitations-card", list));
  await loadInvitations(list, roles);
}

async function loadInvitations(list: HTMLElement, roles: Role[]) {
  const res = await atrium.call((c) => c.GET("/invitations", { params: { query: { limit: 50 } } }));
  list.replaceChildren(
    ...res.items.map((inv) =>
      h(
        "li",
        { class: "item", testid: "invitation-item", data: { invitationId: inv.id, status: inv.status } },
        h(
          "div",
          { class: "item-main" },
          h("strong", { text: inv.email || (inv.purpose === "reenroll" ? "Re-enrollment" : "Anyone with the link") }),
          h("span", {
            class: "meta",
            testid: "invitation-meta",
            text: [inv.role_id ? roleName(roles, inv.role_id) : "member", inv.status, inv.status === "pending" ? `expires ${when(inv.expires_at)}` : ""]
              .filter(Boolean)
              .join(" · "),
          }),
        ),
        inv.status === "pending"
          ? h(
              "div",
              { class: "row" },
              button("Revoke", "invitation-revoke", async () => {
                await atrium.call((c) => c.DELETE("/invitations/{invitationId}", { params: { path: { invitationId: inv.id } } }));
                await loadInvitations(list, roles);
                notify("Invitation revoked.");
              }, "small danger"),
            )
          : null,
      ),
    ),
  );
}

// --------------------------------------------------------------- roles ----

type Catalog = Schemas["PermissionCatalog"];

/**
 * permissionPicker is the permission catalog as checkboxes, one per
 * permission plus "resource.*" per resource, with selected ticked. Checkbox
 * test ids are prefix + the permission ("perm-audit.read").
 */
function permissionPicker(catalog: Catalog, selected: string[], prefix: string): { el: HTMLElement; values: () => string[] } {
  const el = h("div", { class: "picker", testid: `${prefix}picker` });
  el.append(
    h("p", {
      class: "meta",
      text: "“resource.*” grants every permission on that resource, including ones added later; tick single permissions to grant only those.",
    }),
  );
  for (const g of catalog.groups) {
    const fs = h("fieldset", { class: "group" }, h("legend", { text: g.resource }));
    const wid = uid("p");
    const wildValue = `${g.resource}.*`;
    const wild = h("input", { type: "checkbox", id: wid, value: wildValue, testid: `${prefix}${wildValue}`, checked: selected.includes(wildValue) });
    fs.append(h("label", { class: "check", for: wid }, wild, `${g.resource}.* (all)`));
    const singles: HTMLInputElement[] = [];
    for (const p of g.permissions) {
      const id = uid("p");
      const cb = h("input", { type: "checkbox", id, value: p.name, testid: `${prefix}${p.name}`, checked: selected.includes(p.name) });
      singles.push(cb);
      fs.append(h("label", { class: "check", for: id, title: p.description }, cb, p.name));
    }
    const sync = () => {
      for (const s of singles) {
        s.disabled = wild.checked;
        if (wild.checked) s.checked = false;
      }
    };
    wild.addEventListener("change", sync);
    sync();
    el.append(fs);
  }
  // A stored permission the catalog no longer lists stays granted unless unticked.
  const known = new Set(catalog.groups.flatMap((g) => [`${g.resource}.*`, ...g.permissions.map((p) => p.name)]));
  const others = selected.filter((p) => !known.has(p));
  if (others.length) {
    const fs = h("fieldset", { class: "group" }, h("legend", { text: "other" }));
    for (const p of others) {
      const id = uid("p");
      fs.append(h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, value: p, testid: `${prefix}${p}`, checked: true }), p));
    }
    el.append(fs);
  }
  return { el, values: () => [...el.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value) };
}

async function renderRoles(root: HTMLElement) {
  heading(root, "Roles", "A role is a set of permissions. admin, member and viewer are built in; custom roles are this workspace's own.");
  const manage = can("role.manage");
  const [roles, catalog] = await Promise.all([listRoles(), manage ? atrium.call((c) => c.GET("/permissions")) : Promise.resolve(null)]);
  const redraw = async () => {
    root.replaceChildren();
    await renderRoles(root);
  };
  const list = h("ul", { class: "list", testid: "roles-list" });
  for (const r of roles) {
    const li = h(
      "li",
      { class: "item", testid: "role-item", data: { roleId: r.id, system: String(r.system) } },
      h(
        "div",
        { class: "item-main" },
        h("strong", { testid: "role-name", text: r.name + (r.system ? " (built in)" : "") }),
        h("span", { class: "meta", testid: "role-description", text: r.description }),
        h("span", { class: "meta perms", testid: "role-permissions", text: r.permissions.join(", ") }),
        h("span", { class: "meta", text: `${r.members} member${r.members === 1 ? "" : "s"}` }),
      ),
    );
    if (!r.system && manage && catalog) {
      // The edit form is built when opened: one picker in the page at a time.
      const slot = h("div", { class: "inline", testid: "role-edit-slot", hidden: true });
      const edit = h("button", { type: "button", class: "small", testid: "role-edit", text: "Edit" });
      edit.addEventListener("click", () => {
        if (!slot.hidden) {
          slot.hidden = true;
          slot.replaceChildren();
          return;
        }
        const name = h("input", { testid: "role-edit-name", value: r.name, attrs: { maxlength: "100", autocomplete: "off" } });
        const desc = h("input", { testid: "role-edit-description", value: r.description, attrs: { maxlength: "1000", autocomplete: "off" } });
        const picker = permissionPicker(catalog, r.permissions, "edit-perm-");
        const form = h("form", { testid: "role-edit-form", attrs: { novalidate: "" } });
        form.append(
          field("Name", name),
          field("Description", desc),
          picker.el,
          h(
            "div",
            { class: "row" },
            h("button", { type: "submit", class: "small primary-inline", testid: "role-edit-save", text: "Save role" }),
            h("button", { type: "button", class: "small", text: "Cancel", on: { click: () => edit.click() } }),
          ),
        );
        onSubmit(form, async () => {
          const permissions = picker.values();
          if (!name.value.trim()) throw new Error("Enter a name.");
          if (permissions.length === 0) throw new Error("Choose at least one permission.");
          await atrium.call((c) =>
            c.PATCH("/roles/{roleId}", {
              params: { path: { roleId: r.id } },
              body: { name: name.value.trim(), description: desc.value.trim(), permissions },
            }),
          );
          await redraw();
          notify(`Role ${name.value.trim()} saved.`);
        });
        slot.replaceChildren(form);
        slot.hidden = false;
      });
      li.append(
        h(
          "div",
          { class: "row" },
          edit,
          confirmButton("Delete", "role-delete", `Delete the role ${r.name}?`, async () => {
            await atrium.call((c) => c.DELETE("/roles/{roleId}", { params: { path: { roleId: r.id } } }));
            await redraw();
            notify(`Role ${r.name} deleted.`);
          }),
        ),
        slot,
      );
    }
    list.append(li);
  }
  root.append(card("Roles", "roles-card", list));
  if (!manage || !catalog) return;

  const name = h("input", { testid: "role-new-name", attrs: { maxlength: "100", autocomplete: "off" } });
  const desc = h("input", { testid: "role-new-description", attrs: { maxlength: "1000", autocomplete: "off" } });
  const picker = permissionPicker(catalog, [], "perm-");
  picker.el.dataset.testid = "permission-picker";
  const form = h("form", { testid: "role-form", attrs: { novalidate: "" } });
  form.append(
    field("Name", name),
    field("Description", desc),
    picker.el,
    h("button", { type: "submit", class: "primary", testid: "role-submit", text: "Create role" }),
  );
  onSubmit(form, async () => {
    const permissions = picker.values();
    if (!name.value.trim()) throw new Error("Enter a name.");
    if (permissions.length === 0) throw new Error("Choose at least one permission.");
    await atrium.call((c) => c.POST("/roles", { body: { name: name.value.trim(), description: desc.value.trim(), permissions } }));
    await redraw();
    notify("Role created.");
  });
  root.append(card("New custom role", "role-new-card", form));
}

// --------------------------------------------------------------- teams ----

async function renderTeams(root: HTMLElement) {
  heading(root, "Teams", "Teams group members, so that resources can be shared with all of them at once.");
  const [teams, members] = await Promise.all([
    allPages<Schemas["Team"]>((cursor) => atrium.call((c) => c.GET("/teams", { params: { query: { cursor, limit: 100 } } }))),
    can("member.read") ? listMembers() : Promise.resolve([] as Member[]),
  ]);
  const manage = can("team.manage");
  const nameOf = (id: string) => members.find((m) => m.user_id === id)?.display_name || id.slice(0, 8);
  const redraw = async () => {
    root.replaceChildren();
    await renderTeams(root);
  };
  const list = h("ul", { class: "list", testid: "teams-list" });
  for (const t of teams) {
    const li = h(
      "li",
      { class: "item", testid: "team-item", data: { teamId: t.id } },
      h(
        "div",
        { class: "item-main" },
        h("strong", { testid: "team-name", text: t.name }),
        t.description ? h("span", { class: "meta", testid: "team-description", text: t.description }) : null,
        h("span", { class: "meta", testid: "team-members", text: t.member_ids.map(nameOf).join(", ") || "No members yet" }),
      ),
    );
    if (manage) {
      const name = h("input", { testid: "team-edit-name", value: t.name, attrs: { maxlength: "100", autocomplete: "off" } });
      const desc = h("input", { testid: "team-edit-description", value: t.description, attrs: { maxlength: "1000", autocomplete: "off" } });
      const editForm = h("form", { class: "inline", testid: "team-edit-form", hidden: true, attrs: { novalidate: "" } });
      editForm.append(
        field("Name", name),
        field("Description", desc),
        h("div", { class: "row" }, h("button", { type: "submit", class: "small primary-inline", testid: "team-edit-save", text: "Save team" })),
      );
      onSubmit(editForm, async () => {
        if (!name.value.trim()) throw new Error("Enter a name.");
        await atrium.call((c) =>
          c.PATCH("/teams/{teamId}", { params: { path: { teamId: t.id } }, body: { name: name.value.trim(), description: desc.value.trim() } }),
        );
        await redraw();
        notify(`Team ${name.value.trim()} saved.`);
      });
      const others = members.filter((m) => !t.member_ids.includes(m.user_id));
      const who = select("team-add-who", others.map((m) => [m.user_id, m.display_name]));
      li.append(
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "small", testid: "team-edit", text: "Edit", on: { click: () => (editForm.hidden = !editForm.hidden) } }),
          others.length ? who : null,
          others.length
            ? button("Add", "team-add-member", async () => {
                await atrium.call((c) => c.PUT("/teams/{teamId}/members/{userId}", { params: { path: { teamId: t.id, userId: who.value } } }));
                await redraw();
                notify("Member added to the team.");
              })
            : null,
          ...t.member_ids.map((id) =>
            button(`Remove ${nameOf(id)}`, "team-remove-member", async () => {
              await atrium.call((c) => c.DELETE("/teams/{teamId}/members/{userId}", { params: { path: { teamId: t.id, userId: id } } }));
              await redraw();
              notify("Member removed from the team.");
            }),
          ),
          confirmButton("Delete team", "team-delete", `Delete ${t.name} and the shares made to it?`, async () => {
            await atrium.call((c) => c.DELETE("/teams/{teamId}", { params: { path: { teamId: t.id } } }));
            await redraw();
            notify("Team deleted.");
          }),
        ),
        editForm,
      );
    }
    list.append(li);
  }
  root.append(card("Teams", "teams-card", list));
  if (!manage) return;
  const name = h("input", { testid: "team-new-name", attrs: { maxlength: "100", autocomplete: "off" } });
  const desc = h("input", { testid: "team-new-description", attrs: { maxlength: "500", autocomplete: "off" } });
  const form = h("form", { testid: "team-form", attrs: { novalidate: "" } });
  form.append(field("Name", name), field("Description", desc), h("button", { type: "submit", class: "primary", testid: "team-submit", text: "Create team" }));
  onSubmit(form, async () => {
    if (!name.value.trim()) throw new Error("Enter a name.");
    await atrium.call((c) => c.POST("/teams", { body: { name: name.value.trim(), description: desc.value.trim() || undefined } }));
    await redraw();
    notify("Team created.");
  });
  root.append(card("New team", "team-new-card", form));
}

// ---------------------------------------------------- service accounts ----

async function renderServiceAccounts(root: HTMLElement) {
  heading(
    root,
    "Service accounts",
    "Identities for backend services: roles like a member, and public keys only. A service signs a short assertion with its private key and exchanges it at /auth/token (docs/api.md).",
  );
  const [accounts, roles] = await Promise.all([
    allPages<Schemas["ServiceAccount"]>((cursor) =>
      atrium.call((c) => c.GET("/service-accounts", { params: { query: { cursor, limit: 100 } } })),
    ),
    listRoles(),
  ]);
  const redraw = async () => {
    root.replaceChildren();
    await renderServiceAccounts(root);
  };
  const list = h("ul", { class: "list", testid: "service-accounts-list" });
  for (const a of accounts) {
    const keys = h("ul", { class: "list", testid: "service-account-keys" });
    for (const k of a.keys || []) {
      const status = k.revoked_at ? "revoked" : k.active ? "active" : "expired";
      keys.append(
        h(
          "li",
          { class: "item", testid: "service-account-key", data: { kid: k.kid, status } },
          h(
            "div",
            { class: "item-main" },
            h("code", { text: k.kid }),
            h("span", { class: "meta", text: `${k.alg} · ${status}${k.last_used_at ? ` · last used ${when(k.last_used_at)}` : ""}` }),
            // The RFC 7638 thumbprint, to compare with the key the service
            // holds (e.g. `jose jwk thp`); the kid is it unless one was given.
            h("span", { class: "meta" }, "thumbprint ", h("code", { testid: "service-account-key-thumbprint", text: k.thumbprint })),
          ),
          !k.revoked_at
            ? confirmButton("Revoke key", "service-account-key-revoke", `Revoke key ${k.kid}? Services using it stop at once.`, async () => {
                await atrium.call((c) =>
                  c.DELETE("/service-accounts/{serviceAccountId}/keys/{keyId}", { params: { path: { serviceAccountId: a.id, keyId: k.id } } }),
                );
                await redraw();
                notify("Key revoked.");
              })
            : null,
        ),
      );
    }
    const pem = h("textarea", { testid: "service-account-key-pem", attrs: { rows: "4", placeholder: "-----BEGIN PUBLIC KEY-----" } });
    const addKey = h("form", { testid: "service-account-key-form", attrs: { novalidate: "" } });
    addKey.append(field("Public key (PEM or JWK)", pem), h("button", { type: "submit", class: "small", text: "Add key" }));
    onSubmit(addKey, async () => {
      if (!pem.value.trim()) throw new Error("Paste a public key (PEM or a public JWK).");
      await atrium.call((c) =>
        c.POST("/service-accounts/{serviceAccountId}/keys", { params: { path: { serviceAccountId: a.id } }, body: { public_key: pem.value.trim() } }),
      );
      await redraw();
      notify("Key added.");
    });
    list.append(
      h(
        "li",
        { class: "item", testid: "service-account-item", data: { serviceAccountId: a.id, disabled: String(!!a.disabled) } },
        h(
          "div",
          { class: "item-main" },
          h("strong", { testid: "service-account-name", text: a.name }),
          h("span", { class: "meta", text: `id ${a.id}` }),
          h("span", { class: "meta", text: `roles: ${a.role_ids.map((id) => roleName(roles, id)).join(", ") || "none"}${a.disabled ? " · disabled" : ""}` }),
        ),
        keys,
        addKey,
        h(
          "div",
          { class: "row" },
          button(a.disabled ? "Enable" : "Disable", "service-account-toggle", async () => {
            await atrium.call((c) =>
              c.PATCH("/service-accounts/{serviceAccountId}", { params: { path: { serviceAccountId: a.id } }, body: { disabled: !a.disabled } }),
            );
            await redraw();
            notify(a.disabled ? "Service account enabled." : "Service account disabled.");
          }),
          confirmButton("Delete", "service-account-delete", `Delete ${a.name} and its keys?`, async () => {
            await atrium.call((c) => c.DELETE("/service-accounts/{serviceAccountId}", { params: { path: { serviceAccountId: a.id } } }));
            await redraw();
            notify("Service account deleted.");
          }),
        ),
      ),
    );
  }
  if (!accounts.length) list.append(h("li", { class: "item meta", testid: "service-accounts-empty", text: "No service accounts." }));
  root.append(card("Service accounts", "service-accounts-card", list));
  const name = h("input", { testid: "service-account-new-name", attrs: { maxlength: "100", autocomplete: "off" } });
  const role = select(
    "service-account-new-role",
    roles.map((r) => [r.id, r.name]),
    roles.find((r) => r.name === "member")?.id,
  );
  const form = h("form", { testid: "service-account-form", attrs: { novalidate: "" } });
  form.append(field("Name", name), field("Role", role), h("button", { type: "submit", class: "primary", testid: "service-account-submit", text: "Create service account" }));
  onSubmit(form, async () => {
    if (!name.value.trim()) throw new Error("Enter a name.");
    await atrium.call((c) => c.POST("/service-accounts", { body: { name: name.value.trim(), role_ids: role.value ? [role.value] : [] } }));
    await redraw();
    notify("Service account created. Add its public key to let it sign in.");
  });
  root.append(card("New service account", "service-account-new-card", form));
}

// ------------------------------------------------------------ settings ----

async function renderSettings(root: HTMLElement) {
  heading(root, "Workspace settings", "The workspace's name, what happens to an erased member's resources, and its LLM quota.");
  const s = await atrium.call((c) => c.GET("/tenant"));
  const name = h("input", { testid: "settings-name", value: s.name, attrs: { maxlength: "200" } });
  const policy = select(
    "settings-erasure",
    [
      ["delete", "Delete them"],
      ["transfer", "Hand them over to the workspace"],
    ],
    s.erasure_policy,
  );
  const quota = h("input", {
    type: "number",
    testid: "settings-quota",
    value: s.llm_monthly_tokens === undefined ? "" : String(s.llm_monthly_tokens),
    attrs: { min: "0", step: "1000", placeholder: "Deployment default" },
  });
  const form = h("form", { testid: "settings-form", attrs: { novalidate: "" } });
  form.append(
    h("p", { class: "meta", testid: "settings-slug", text: `Slug ${s.slug} · ${s.status} · created ${when(s.created_at)}` }),
    field("Name", name),
    field("When a member is erased, their resources are", policy),
    field("Monthly LLM tokens (0 is unlimited; empty uses the deployment's)", quota),
    h("p", {
      class: "meta",
      testid: "settings-quota-effective",
      text: `In force this month: ${s.llm_monthly_tokens_effective === 0 ? "unlimited" : `${s.llm_monthly_tokens_effective.toLocaleString()} tokens`}`,
    }),
    h("button", { type: "submit", class: "primary", testid: "settings-submit", text: "Save settings" }),
  );
  onSubmit(form, async () => {
    const body: Schemas["TenantSettingsUpdate"] = {
      name: name.value.trim(),
      erasure_policy: policy.value as Schemas["ErasurePolicy"],
    };
    if (quota.value.trim() === "") body.llm_monthly_tokens_default = true;
    else body.llm_monthly_tokens = Number(quota.value);
    await atrium.call((c) => c.PATCH("/tenant", { body }));
    root.replaceChildren();
    await renderSettings(root);
    notify("Settings saved.");
  });
  root.append(card("Settings", "settings-card", form));
}

// --------------------------------------------------------------- audit ----

async function renderAudit(root: HTMLElement) {
  heading(
    root,
    "Audit trail",
    "Every security-relevant action, newest first. Each event is a link in a hash chain: “Verify chain” checks every link on the server (as `atrium audit verify` does), and the export carries chain, seq and hash.",
  );
  const verdict = h("p", { class: "verdict", testid: "audit-verify-status", data: { state: "unknown" }, text: "Not verified yet." });
  const verify = async () => {
    const v = await atrium.call((c) => c.GET("/audit-events/verify"));
    const n = `${v.events.toLocaleString()} event${v.events === 1 ? "" : "s"}`;
    verdict.dataset.state = v.verified ? "verified" : "broken";
    verdict.dataset.events = String(v.events);
    verdict.dataset.head = String(v.head_seq);
    if (v.verified) {
      verdict.dataset.broken = "";
      verdict.textContent = v.events === 0 ? "✓ Verified: the trail is empty." : `✓ Verified: ${n} up to seq ${v.head_seq}, every hash intact.`;
    } else {
      const why = { edited: "its content was changed", missing: "it is missing", reordered: "it was moved" }[v.reason || "edited"];
      verdict.dataset.broken = String(v.broken_seq ?? "");
      verdict.textContent = `✗ Broken at seq ${v.broken_seq}: ${why}. Checked ${n}. Tell your operator (atrium audit verify names every problem).`;
    }
  };
  const verifyButton = button("Verify chain", "audit-verify", verify);
  root.append(card("Chain verification", "audit-verify-card", verdict, h("div", { class: "row" }, verifyButton)));
  // Verified once on opening; a refusal (e.g. 429) is shown in the card, not as the page's error.
  void verify().catch((e: unknown) => {
    verdict.dataset.state = "error";
    verdict.textContent = `Not verified: ${e instanceof Error ? e.message : String(e)}`;
  });
  const action = h("input", { testid: "audit-action", attrs: { placeholder: "e.g. auth.login", autocomplete: "off" } });
  const outcome = select("audit-outcome", [["", "Any"], ["success", "success"], ["failure", "failure"], ["denied", "denied"]]);
  const since = h("input", { type: "date", testid: "audit-since" });
  const until = h("input", { type: "date", testid: "audit-until" });
  const list = h("ul", { class: "list audit", testid: "audit-list" });
  const status = h("p", { class: "meta", testid: "audit-chain" });
  const more = h("button", { type: "button", class: "small", testid: "audit-more", text: "Older events", hidden: true });
  let cursor: string | undefined;
  let lastSeq: number | undefined;
  let gaps = 0;
  const query = () => ({
    action: action.value.trim() || undefined,
    outcome: (outcome.value || undefined) as "success" | "failure" | "denied" | undefined,
    since: since.value ? new Date(`${since.value}T00:00:00`).toISOString() : undefined,
    until: until.value ? new Date(`${until.value}T23:59:59.999`).toISOString() : undefined,
  });
  const filtered = () => Object.values(query()).some(Boolean);
  const load = async (reset: boolean) => {
    if (reset) {
      cursor = undefined;
      lastSeq = undefined;
      gaps = 0;
      list.replaceChildren();
    }
    const page = await atrium.call((c) => c.GET("/audit-events", { params: { query: { ...query(), cursor, limit: 50 } } }));
    for (const e of page.items) {
      // Unfiltered, consecutive events of one chain have consecutive seq numbers:
      // a gap means events are missing here (the server-side verify tells why).
      if (!filtered() && lastSeq !== undefined && e.seq !== lastSeq - 1) gaps++;
      lastSeq = e.seq;
      list.append(
        h(
          "li",
          { class: "item", testid: "audit-item", data: { outcome: e.outcome, action: e.action } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "audit-item-action", text: `${e.action} · ${e.outcome}` }),
            h("span", {
              class: "meta",
              text: [when(e.occurred_at), e.resource_type ? `${e.resource_type} ${e.resource_id?.slice(0, 8) || ""}` : "", `#${e.seq}`]
                .filter(Boolean)
                .join(" · "),
            }),
            e.details && Object.keys(e.details).length
              ? h("span", { class: "meta", text: Object.entries(e.details).map(([k, v]) => `${k}=${v}`).join(" ") })
              : null,
          ),
        ),
      );
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    status.textContent = filtered()
      ? "Filtered: chain continuity is shown for the unfiltered trail."
      : gaps === 0
        ? `Chain continuous over the ${list.childElementCount} events shown (sequence numbers without gaps).`
        : `${gaps} gap${gaps === 1 ? "" : "s"} in the sequence numbers shown: run \`atrium audit verify\`.`;
    status.dataset.state = filtered() ? "filtered" : gaps === 0 ? "continuous" : "gaps";
  };
  more.addEventListener("click", () => void busy(more, () => load(false)));
  const form = h("form", { testid: "audit-filters", class: "filters", attrs: { novalidate: "" } });
  form.append(
    field("Action", action),
    field("Outcome", outcome),
    field("Since", since),
    field("Until", until),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "small", testid: "audit-apply", text: "Apply filters" }),
      button("Export NDJSON", "audit-export", async () => {
        // Fetched with the bearer token (a plain link could not carry it), then saved from a blob.
        const blob = await atrium.call((c) => c.GET("/audit-events/export", { params: { query: query() }, parseAs: "blob" }));
        const a = h("a", { attrs: { download: `audit-${new Date().toISOString().slice(0, 10)}.ndjson` } });
        a.href = URL.createObjectURL(blob as Blob);
        a.dataset.testid = "audit-download";
        a.dataset.bytes = String((blob as Blob).size);
        document.body.append(a);
        a.click();
        setTimeout(() => {
          URL.revokeObjectURL(a.href);
          a.remove();
        }, 60_000);
        notify(`Exported ${(blob as Blob).size.toLocaleString()} bytes.`);
      }),
    ),
  );
  onSubmit(form, () => load(true));
  root.append(card("Filters", "audit-filters-card", form), card("Events", "audit-card", status, list, more));
  await load(true);
}

// ----------------------------------------------------------- documents ----

async function renderDocuments(root: HTMLElement) {
  heading(root, "Documents", "Text and Markdown documents of this workspace that you can read.");
  const q = h("input", { type: "search", testid: "documents-search", attrs: { placeholder: "Search title or content" } });
  const list = h("ul", { class: "list", testid: "documents-list" });
  const load = async () => {
    const page = await atrium.call((c) => c.GET("/documents", { params: { query: { q: q.value.trim() || undefined, limit: 50 } } }));
    list.replaceChildren(
      ...page.items.map((d) =>
        h(
          "li",
          { class: "item", testid: "document-item", data: { documentId: d.id } },
          h(
            "div",
            { class: "item-main" },
            h("strong", { testid: "document-title", text: d.title }),
            h("span", { class: "meta", text: [d.content_type, d.tags.join(", "), `updated ${when(d.updated_at)}`].filter(Boolean).join(" · ") }),
            h("span", { class: "excerpt", text: d.content.slice(0, 200) }),
          ),
          h(
            "div",
            { class: "row" },
            shareButton("documents", d.id, d.title),
            can("document.delete")
              ? confirmButton("Delete", "document-delete", `Delete ${d.title}?`, async () => {
                  await atrium.call((c) => c.DELETE("/documents/{documentId}", { params: { path: { documentId: d.id } } }));
                  await load();
                  notify("Document deleted.");
                })
              : null,
          ),
        ),
      ),
    );
    if (!page.items.length) list.append(h("li", { class: "item meta", testid: "documents-empty", text: "No documents." }));
  };
  const search = h("form", { testid: "documents-search-form", attrs: { novalidate: "" } });
  search.append(field("Search", q), h("button", { type: "submit", class: "small", text: "Search" }));
  onSubmit(search, load);
  root.append(card("Documents", "documents-card", search, list));
  if (can("document.create")) {
    const title = h("input", { testid: "document-new-title", attrs: { maxlength: "200" } });
    const content = h("textarea", { testid: "document-new-content", attrs: { rows: "6" } });
    const ctype = select("document-new-type", [["text/markdown", "Markdown"], ["text/plain", "Plain text"]], "text/markdown");
    const tags = h("input", { testid: "document-new-tags", attrs: { placeholder: "comma, separated" } });
    const form = h("form", { testid: "document-form", attrs: { novalidate: "" } });
    form.append(
      field("Title", title),
      field("Content", content),
      field("Format", ctype),
      field("Tags", tags),
      h("button", { type: "submit", class: "primary", testid: "document-submit", text: "Create document" }),
    );
    onSubmit(form, async () => {
      if (!title.value.trim()) throw new Error("Enter a title.");
      await atrium.call((c) =>
        c.POST("/documents", {
          body: {
            title: title.value.trim(),
            content: content.value,
            content_type: ctype.value as Schemas["DocumentContentType"],
            tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
          },
        }),
      );
      form.reset();
      await load();
      notify("Document created.");
    });
    root.append(card("New document", "document-new-card", form));
  }
  await load();
}

export const pages: Page[] = [
  ...workspacePages,
  { id: "documents", title: "Documents", group: "workspace", allowed: (c) => c("document.read"), render: renderDocuments },
  { id: "members", title: "Members", group: "admin", allowed: (c) => c("member.read"), render: renderMembers },
  { id: "invitations", title: "Invitations", group: "admin", allowed: (c) => c("member.manage"), render: renderInvitations },
  { id: "roles", title: "Roles", group: "admin", allowed: (c) => c("role.read"), render: renderRoles },
  { id: "teams", title: "Teams", group: "admin", allowed: (c) => c("team.read"), render: renderTeams },
  { id: "service-accounts", title: "Service accounts", group: "admin", allowed: (c) => c("service_account.manage"), render: renderServiceAccounts },
  { id: "settings", title: "Settings", group: "admin", allowed: (c) => c("tenant.manage"), render: renderSettings },
  { id: "audit", title: "Audit", group: "admin", allowed: (c) => c("audit.read"), render: renderAudit },
];

