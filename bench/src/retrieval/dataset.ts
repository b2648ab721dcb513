import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Reads a retrieval set in the format of ../shared/datasets/locomo-dev (see its README): one dialogue turn per
 * line in memories.jsonl, one question with its evidence turn ids per line in queries.jsonl. The data is read in
 * place and never copied: LoCoMo is CC BY-NC.
 */

export const MEMORIES_FILE = 'memories.jsonl';
export const QUERIES_FILE = 'queries.jsonl';

const turnSchema = z.object({
  conv: z.string().min(1),
  id: z.string().min(1),
  speaker: z.string(),
  text: z.string(),
  session: z.number().int(),
  session_time: z.string(),
  image_caption: z.string().optional(),
});

const querySchema = z.object({
  conv: z.string().min(1),
  qid: z.string().min(1),
  question: z.string().trim().min(1),
  evidence: z.array(z.string().min(1)).min(1),
  category: z.number().int(),
  category_name: z.string().min(1),
});

export type DialogueTurn = z.output<typeof turnSchema>;
export type RetrievalQuestion = z.output<typeof querySchema>;

export interface Conversation {
  id: string;
  turns: DialogueTurn[];
}

export interface RetrievalDataset {
  /** In the order they first appear in memories.jsonl. */
  conversations: Conversation[];
  questions: RetrievalQuestion[];
  /** Category names ordered by category number, as the dataset numbers them. */
  categories: string[];
}

/** Bad or inconsistent data: the message names the file and line. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** What a memory says, as the issue specifies: `speaker: text`, plus ` [image: caption]` when the turn shared one. */
export function memoryContent(turn: DialogueTurn): string {
  const content = `${turn.speaker}: ${turn.text}`;
  return turn.image_caption ? `${content} [image: ${turn.image_caption}]` : content;
}

export async function loadDataset(dir: string): Promise<RetrievalDataset> {
  const turns = await readJsonLines(join(dir, MEMORIES_FILE), turnSchema);
  const questions = await readJsonLines(join(dir, QUERIES_FILE), querySchema);

  const byConversation = new Map<string, Conversation>();
  for (const turn of turns) {
    const conversation = byConversation.get(turn.conv) ?? { id: turn.conv, turns: [] };
    conversation.turns.push(turn);
    byConversation.set(turn.conv, conversation);
  }
  const idsByConversation = new Map<string, Set<string>>();
  for (const { id, turns: list } of byConversation.values()) {
    const ids = new Set<string>();
    for (const turn of list) {
      // Results are mapped back to turns by id: a duplicate would make a hit ambiguous.
      if (ids.has(turn.id)) throw new DatasetError(`${MEMORIES_FILE}: turn id ${turn.id} appears twice in ${id}`);
      ids.add(turn.id);
    }
    idsByConversation.set(id, ids);
  }

  const categoryNames = new Map<number, string>();
  for (const question of questions) {
    const ids = idsByConversation.get(question.conv);
    if (!ids)
      throw new DatasetError(
        `${QUERIES_FILE}: question ${question.qid} is about ${question.conv}, which has no memories`,
      );
    // Evidence that is not a memory can never be found, and would silently cap the recall.
    const missing = question.evidence.filter((id) => !ids.has(id));
    if (missing.length > 0) {
      throw new DatasetError(
        `${QUERIES_FILE}: question ${question.qid} cites ${missing.join(', ')}, not turns of ${question.conv}`,
      );
    }
    const known = categoryNames.get(question.category);
    if (known !== undefined && known !== question.category_name) {
      throw new DatasetError(
        `${QUERIES_FILE}: category ${question.category} is named both "${known}" and "${question.category_name}"`,
      );
    }
    categoryNames.set(question.category, question.category_name);
  }
  if (questions.length === 0) throw new DatasetError(`${QUERIES_FILE} holds no questions`);

  return {
    conversations: [...byConversation.values()],
    questions,
    categories: [...categoryNames.entries()].sort(([a], [b]) => a - b).map(([, name]) => name),
  };
}

async function readJsonLines<T>(path: string, schema: z.ZodType<T>): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DatasetError(
      code === 'ENOENT' ? `${path} not found` : `cannot read ${path}: ${(error as Error).message}`,
    );
  }
  const rows: T[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new DatasetError(`${path}:${index + 1}: not valid JSON`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'line'} ${issue.message}`);
      throw new DatasetError(`${path}:${index + 1}: ${problems.join('; ')}`);
    }
    rows.push(parsed.data);
  }
  return rows;
}
