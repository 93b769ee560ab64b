// Small DOM helpers. Text always goes in as text (never as HTML): names come from users.

export function byId(id) {
  return document.getElementById(id);
}

export function element(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function setState(node, text, { error = false } = {}) {
  node.textContent = text;
  node.classList.toggle("error", error);
}

export function showNotice(text) {
  const notice = byId("notice");
  notice.textContent = text;
  notice.hidden = !text;
}

/** Run `action`; an API error goes to `stateNode` (and the page-wide notice for 401/403/429). */
export async function reporting(stateNode, action) {
  try {
    return await action();
  } catch (error) {
    setState(stateNode, error.message, { error: true });
    if ([401, 403, 429].includes(error.status)) showNotice(error.message);
    return undefined;
  }
}
