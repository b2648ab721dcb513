import OpenAI from 'openai';
import { z } from 'zod';
import {
  InferenceException,
  InferenceExceptionCode,
  type ExistingMemory,
  type InferenceEngine,
  type InferenceMessage,
  type MemoryDecision,
} from './inference-engine.js';

export interface LlmInferenceConfig {
  /** An OpenAI-compatible API root, e.g. `http://127.0.0.1:11434/v1` (LLM_BASE_URL). */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Per call; the default suits a local model. */
  timeoutMs?: number;
}

/** The chat completion call, so that tests can count and script the calls. */
export type ChatCompletion = (
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[],
) => Promise<string>;

const factsSchema = z.object({ facts: z.array(z.string().trim().min(1).max(4000)).max(200) });

const decisionSchema = z.discriminatedUnion('op', [
  z.object({ fact: z.number().int().min(0), op: z.literal('ADD'), text: z.string().trim().min(1), reason: z.string() }),
  z.object({
    fact: z.number().int().min(0),
    op: z.literal('UPDATE'),
    id: z.string().min(1),
    text: z.string().trim().min(1),
    reason: z.string(),
  }),
  z.object({ fact: z.number().int().min(0), op: z.literal('DELETE'), id: z.string().min(1), reason: z.string() }),
  z.object({ fact: z.number().int().min(0), op: z.literal('NONE'), id: z.string().optional(), reason: z.string() }),
]);
const decisionsSchema = z.object({ decisions: z.array(decisionSchema).max(1000) });

export const EXTRACT_PROMPT = `You extract durable facts about the user (and the people and things they talk about) from a conversation, for a long-term memory.
Return only a JSON object: {"facts": ["...", "..."]}.
Each fact is one short, self-contained statement in the user's words (e.g. "Lives in Berlin", "Is allergic to peanuts").
Leave out greetings, questions, small talk and anything the assistant said that the user did not confirm.
If there is nothing worth remembering, return {"facts": []}.`;

export const DECIDE_PROMPT = `You maintain a long-term memory. You get new facts (numbered) and the existing memories that resemble them (each with an id).
For every new fact decide exactly one operation:
- "ADD": a new piece of information; give "text".
- "UPDATE": it refines, corrects or replaces an existing memory; give that memory's "id" and the merged "text".
- "DELETE": it contradicts an existing memory that is no longer true and nothing replaces it; give that memory's "id".
- "NONE": already known; optionally the "id" of the memory that says it.
Always give a short "reason".
Return only a JSON object: {"decisions": [{"fact": 0, "op": "ADD", "text": "...", "reason": "..."}, {"fact": 1, "op": "UPDATE", "id": "m0", "text": "...", "reason": "..."}]}
with one decision per fact, and use only the ids you were given.`;

/**
 * The inference engine on a chat model behind any OpenAI-compatible endpoint (LLM_BASE_URL, LLM_MODEL, LLM_API_KEY),
 * through the `openai` package. Two calls: extract the facts, then decide for each against the memories that
 * resemble it (mem0's design). Every reply must be JSON matching a zod schema; a reply that is not gets one more
 * try, told what was wrong, and a second bad reply is an `InferenceException` (the caller then stores the messages
 * as they are). Memory ids are shown to the model as short aliases (`m0`, `m1`...) so that it cannot garble a
 * uuid; an id it invents is refused by the schema check below, and counts as a bad reply.
 */
export class LlmInferenceEngine implements InferenceEngine {
  readonly name = 'llm';

  constructor(private readonly complete: ChatCompletion) {}

  static fromConfig(config: LlmInferenceConfig): LlmInferenceEngine {
    const client = new OpenAI({
      baseURL: config.baseUrl,
      // The SDK insists on a key; local servers (Ollama, vLLM, llama.cpp) take any.
      apiKey: config.apiKey ?? 'none',
      maxRetries: 1,
      timeout: config.timeoutMs ?? 60_000,
    });
    return new LlmInferenceEngine(async (messages) => {
      try {
        const completion = await client.chat.completions.create({ model: config.model, messages, temperature: 0 });
        return completion.choices[0]?.message?.content ?? '';
      } catch (error) {
        throw new InferenceException(
          InferenceExceptionCode.UNAVAILABLE,
          `the LLM endpoint failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
  }

  async extract(messages: readonly InferenceMessage[]): Promise<string[]> {
    const conversation = messages
      .filter((m) => m.role !== 'system')
      .map((m) => `${m.name ?? m.role}: ${m.content}`)
      .join('\n');
    const { facts } = await this.ask(factsSchema, EXTRACT_PROMPT, `Conversation:\n${conversation}`);
    return facts;
  }

  async decide(facts: readonly string[], existing: readonly ExistingMemory[]): Promise<MemoryDecision[]> {
    if (facts.length === 0) return [];
    const aliases = new Map(existing.map((memory, index) => [`m${index}`, memory.id]));
    const prompt = JSON.stringify({
      existing_memories: existing.map((memory, index) => ({ id: `m${index}`, text: memory.content })),
      new_facts: facts.map((text, index) => ({ fact: index, text })),
    });
    const { decisions } = await this.ask(
      decisionsSchema.superRefine((reply, ctx) => {
        for (const decision of reply.decisions) {
          if (decision.fact >= facts.length) ctx.addIssue({ code: 'custom', message: `no fact ${decision.fact}` });
          if (decision.op !== 'ADD' && decision.id !== undefined && !aliases.has(decision.id)) {
            ctx.addIssue({ code: 'custom', message: `unknown memory id ${decision.id}` });
          }
        }
      }),
      DECIDE_PROMPT,
      prompt,
    );
    const byFact = new Map<number, MemoryDecision>();
    for (const d of decisions) {
      if (byFact.has(d.fact)) continue;
      const target = d.op === 'ADD' || d.id === undefined ? undefined : (aliases.get(d.id) as string);
      switch (d.op) {
        case 'ADD':
          byFact.set(d.fact, { fact: d.fact, op: 'ADD', content: d.text, reason: d.reason });
          break;
        case 'UPDATE':
          byFact.set(d.fact, {
            fact: d.fact,
            op: 'UPDATE',
            target: target as string,
            content: d.text,
            reason: d.reason,
          });
          break;
        case 'DELETE':
          byFact.set(d.fact, { fact: d.fact, op: 'DELETE', target: target as string, reason: d.reason });
          break;
        case 'NONE':
          byFact.set(d.fact, { fact: d.fact, op: 'NONE', target, reason: d.reason });
          break;
      }
    }
    // A fact the model left out is kept, not dropped.
    return facts.map(
      (text, fact) =>
        byFact.get(fact) ?? { fact, op: 'ADD', content: text, reason: 'the model gave no decision for it: kept' },
    );
  }

  /** One JSON answer matching `schema`: a bad reply is tried once more, with what was wrong. */
  private async ask<T>(schema: z.ZodType<T>, system: string, user: string): Promise<T> {
    const messages: { role: 'system' | 'user' | 'assistant'; content: string }[] = [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ];
    let problem = '';
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const reply = await this.complete(messages);
      const parsed = parseReply(reply, schema);
      if (parsed.ok) return parsed.value;
      problem = parsed.problem;
      messages.push(
        { role: 'assistant', content: reply },
        { role: 'user', content: `That reply was not usable (${problem}). Answer again with only the JSON object.` },
      );
    }
    throw new InferenceException(
      InferenceExceptionCode.BAD_OUTPUT,
      `the LLM replied twice without valid JSON: ${problem}`,
    );
  }
}

/** The JSON object in a reply (a code fence or words around it are tolerated), checked against the schema. */
export function parseReply<T>(
  reply: string,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; problem: string } {
  const start = reply.indexOf('{');
  const end = reply.lastIndexOf('}');
  if (start < 0 || end < start) return { ok: false, problem: 'no JSON object in the reply' };
  let json: unknown;
  try {
    json = JSON.parse(reply.slice(start, end + 1));
  } catch (error) {
    return { ok: false, problem: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    return {
      ok: false,
      problem: result.error.issues.map((issue) => `${issue.path.join('.') || 'reply'}: ${issue.message}`).join('; '),
    };
  }
  return { ok: true, value: result.data };
}
