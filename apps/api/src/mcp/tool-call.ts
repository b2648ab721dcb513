import { currentRequestContext, forbidden, unauthorized, type AccessScope } from '@engram/memory-core';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { renderError } from '../common/filters/api-exception.filter.js';

/**
 * Runs one tool call on behalf of the request's caller. `/mcp` is a single route, so the route's access rule can only
 * ask for a tenant key; the scope each tool needs (`memories:read`, `memories:write`, ...) is checked here, per call.
 * Every failure becomes a tool error (`isError`) that the model can read and act on: the session goes on.
 */
export async function runTool(
  tool: string,
  scope: AccessScope,
  call: () => Promise<Record<string, unknown>>,
): Promise<CallToolResult> {
  try {
    assertCallerMay(tool, scope);
    return toolResult(await call());
  } catch (error) {
    return toolError(error);
  }
}

function assertCallerMay(tool: string, scope: AccessScope): void {
  const principal = currentRequestContext()?.principal;
  if (principal?.kind !== 'tenant') throw unauthorized('an API key of a tenant is required');
  if (!principal.scopes.has(scope)) {
    throw forbidden(`the API key lacks the scope ${scope}, which ${tool} needs`, { required: [scope] });
  }
}

/** The result both as structured content and, for clients that read only text, as the same JSON in text. */
export function toolResult(structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/**
 * An error as the REST API would name it (the same code and message, from the one mapping in the exception filter),
 * as text: `CODE: message`, then the details as JSON on a line of their own when there are any. Unexpected errors are logged there and
 * reach the model only as INTERNAL_ERROR.
 */
export function toolError(error: unknown): CallToolResult {
  const { code, message, details } = renderError(error);
  const text =
    details === undefined ? `${code}: ${message}` : `${code}: ${message}\ndetails: ${JSON.stringify(details)}`;
  return { content: [{ type: 'text', text }], isError: true };
}
