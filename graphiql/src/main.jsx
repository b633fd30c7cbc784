// The GraphiQL page zebros serves at GET /graphql (dev only), bundled so that it
// needs nothing but this origin: no CDN, so it works offline and behind a firewall.
import { GraphiQL } from "graphiql";
import { createRoot } from "react-dom/client";
import "graphiql/style.css";

// Same origin, whatever host and port the server was reached on.
const ENDPOINT = new URL("/graphql", window.location.href).toString();

const DEFAULT_QUERY = `# Zebros CRM. Ctrl+Enter runs the query.
{
  me {
    id
    role
  }
}
`;

// The server may prefill headers (embedded mode: a demo token) in a JSON blob,
// <script id="zebros-ide" type="application/json">{"headers": {...}}</script>.
function prefilledHeaders() {
  const blob = document.getElementById("zebros-ide");
  if (!blob) return undefined;
  try {
    const headers = JSON.parse(blob.textContent || "{}").headers;
    if (!headers || typeof headers !== "object" || !Object.keys(headers).length) return undefined;
    return headers;
  } catch (error) {
    console.warn("zebros-ide: the prefilled headers are not JSON", error);
    return undefined;
  }
}

const PREFILLED = prefilledHeaders();
const PREFILLED_TEXT = PREFILLED && JSON.stringify(PREFILLED, null, 2);
// GraphiQL 4 introspects on mount before its headers editor exists, so with no
// headers (and retries with the same): an introspection with none gets the
// prefilled ones, or the schema (docs, completion) would be a 401 until refetched.

// POST JSON, as the server expects; GraphiQL passes the headers editor's contents.
async function fetcher(params, options) {
  let headers = options && options.headers;
  if (!headers && params.operationName === "IntrospectionQuery") headers = PREFILLED;
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json", ...headers },
    body: JSON.stringify(params),
    credentials: "same-origin",
  });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): show what came back rather than a parse error.
    return { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
  }
}

createRoot(document.getElementById("graphiql")).render(
  <GraphiQL
    fetcher={fetcher}
    defaultQuery={DEFAULT_QUERY}
    // `headers` fills the first tab's editor on load, `defaultHeaders` each new tab.
    headers={PREFILLED_TEXT}
    defaultHeaders={PREFILLED_TEXT}
    isHeadersEditorEnabled={true}
    defaultEditorToolsVisibility={PREFILLED ? "headers" : true}
  />,
);
