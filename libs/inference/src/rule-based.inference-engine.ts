import {
  factRef,
  type ExistingMemory,
  type InferenceEngine,
  type InferenceMessage,
  type MemoryDecision,
} from './inference-engine.js';

/** At or above this similarity a new fact restates a memory in other words: UPDATE it rather than ADD a duplicate. */
export const NEAR_DUPLICATE_SIMILARITY = 0.6;

const STOPWORDS = new Set(
  (
    'a an the and or but so of to in on at for with from by about as is am are was were be been being do does did ' +
    'i me my mine we us our you your he she it they them his her its their this that these those there here ' +
    'really very just also now still actually anymore any some then than too not no'
  ).split(' '),
);

/** Words that open a correction or an aside: dropped from the fact, and a correction is noted. */
const LEAD_IN =
  /^(?:(?:actually|oh|well|so|also|and|but|btw|by the way|in fact|correction|sorry|no|wait|ok|okay|hey|hi|hello)\b[,:!]?\s*)+/i;

const SMALL_TALK =
  /^(?:hi|hello|hey|thanks|thank you|ok|okay|yes|no|sure|bye|goodbye|great|cool|good (?:morning|evening|night))\b[\s!.]*$/i;

const NEGATION = /\b(?:no longer|not anymore|any ?more|stopped|quit|don't|do not|doesn't|does not|never)\b/i;

const RELATIONS =
  'sister|brother|mother|father|mom|mum|dad|wife|husband|partner|friend|son|daughter|boss|colleague|dog|cat|girlfriend|boyfriend';

/** Attributes a subject has one of at a time: a new statement of one replaces the old (a correction, a move). */
const SLOTS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'name', pattern: /\b(?:name is|call me|i am called|i'm called|goes by)\b/i },
  {
    name: 'residence',
    pattern:
      /\b(?:live[sd]?|living|reside[sd]?|residing|based|mov(?:e|es|ed|ing)|relocat(?:e|es|ed|ing)|home is)\b(?:\s+\w+){0,3}?\s+(?:in|to|at)\b/i,
  },
  { name: 'employer', pattern: /\b(?:work(?:s|ed|ing)?|employed|job)\s+(?:at|for|by)\b|\bjoined\b/i },
  { name: 'occupation', pattern: /\b(?:work(?:s|ed|ing)? as|my job is|profession is|occupation is)\b/i },
  { name: 'age', pattern: /\b\d{1,3} years old\b|\b(?:i am|i'm|im) \d{1,3}\b|\bage is\b/i },
  { name: 'birthday', pattern: /\bbirthday\b|\bborn on\b/i },
  { name: 'diet', pattern: /\b(?:vegetarian|vegan|pescatarian|carnivore)\b/i },
];

/** A fact as the rules see it. */
interface Reading {
  text: string;
  tokens: Set<string>;
  /** `self`, a relation (`sister`), or the first word of a third-person statement. */
  subject: string;
  slot: string | null;
  negated: boolean;
  correction: boolean;
}

/**
 * The offline engine, used when no LLM is configured. Facts are the sentences of the user's turns (questions, small
 * talk and fragments left out, lead-ins such as "Actually," dropped); each is compared with the scope's memories by
 * the overlap of its content words (Dice coefficient over lightly stemmed words) and by the attribute it states
 * (where someone lives, their name, employer, age...): the same single-valued attribute of the same subject, or a
 * near-duplicate, UPDATEs the memory; a negation ("I no longer...") of one DELETEs it; a restatement is NONE; the
 * rest is ADDed. It is deterministic, which is also what the tests need.
 */
export class RuleBasedInferenceEngine implements InferenceEngine {
  readonly name = 'rules';

  extract(messages: readonly InferenceMessage[]): Promise<string[]> {
    const users = messages.filter((m) => m.role === 'user');
    const source = users.length > 0 ? users : messages.filter((m) => m.role !== 'system');
    const facts: string[] = [];
    for (const message of source) {
      for (const sentence of splitSentences(message.content)) {
        const fact = sentence.replace(LEAD_IN, '').trim();
        if (fact.endsWith('?') || SMALL_TALK.test(fact) || contentWords(fact).size < 2) continue;
        const text = fact.replace(/[.!;]+$/, '');
        if (!facts.some((known) => normalise(known) === normalise(text))) facts.push(text);
      }
    }
    return Promise.resolve(facts);
  }

  decide(facts: readonly string[], existing: readonly ExistingMemory[]): Promise<MemoryDecision[]> {
    // Facts of this same inference that were added become candidates for the later ones (as `fact:<n>`).
    const known: { id: string; reading: Reading }[] = existing.map((m) => ({ id: m.id, reading: read(m.content) }));
    const decisions: MemoryDecision[] = facts.map((fact, index) => {
      const reading = read(fact);
      const decision = this.decideOne(index, reading, known);
      if (decision.op === 'ADD') known.push({ id: factRef(index), reading });
      if (decision.op === 'UPDATE') {
        const target = known.find((k) => k.id === decision.target);
        if (target) target.reading = reading;
      }
      if (decision.op === 'DELETE')
        known.splice(
          known.findIndex((k) => k.id === decision.target),
          1,
        );
      return decision;
    });
    return Promise.resolve(decisions);
  }

  private decideOne(
    fact: number,
    reading: Reading,
    known: readonly { id: string; reading: Reading }[],
  ): MemoryDecision {
    const scored = known
      .map((k) => ({ ...k, similarity: dice(reading.tokens, k.reading.tokens) }))
      .sort((a, b) => b.similarity - a.similarity);
    const same = scored.find((k) => normalise(k.reading.text) === normalise(reading.text));
    if (same) return { fact, op: 'NONE', target: same.id, reason: 'already known: the same fact is stored' };

    const sameSlot = reading.slot
      ? scored.find((k) => k.reading.slot === reading.slot && k.reading.subject === reading.subject)
      : undefined;
    const best = scored[0] as (typeof scored)[number] | undefined;

    if (reading.negated) {
      const denied = sameSlot && sameSlot.similarity > 0 ? sameSlot : best && best.similarity >= 0.5 ? best : undefined;
      if (denied && !denied.reading.negated) {
        return { fact, op: 'DELETE', target: denied.id, reason: `contradicted: "${reading.text}"` };
      }
    }
    if (sameSlot && !reading.negated) {
      const why = reading.correction ? 'a correction' : 'a newer statement';
      return {
        fact,
        op: 'UPDATE',
        target: sameSlot.id,
        content: reading.text,
        reason: `${why} of the same ${sameSlot.reading.slot} (${subjectName(reading.subject)}) replaces "${sameSlot.reading.text}"`,
      };
    }
    if (best && best.similarity >= NEAR_DUPLICATE_SIMILARITY && best.reading.negated === reading.negated) {
      if (isSubset(reading.tokens, best.reading.tokens)) {
        return { fact, op: 'NONE', target: best.id, reason: `already known: "${best.reading.text}" says as much` };
      }
      return {
        fact,
        op: 'UPDATE',
        target: best.id,
        content: reading.text,
        reason: `near-duplicate (similarity ${best.similarity.toFixed(2)}) of "${best.reading.text}": the newer wording replaces it`,
      };
    }
    return { fact, op: 'ADD', content: reading.text, reason: 'a new fact' };
  }
}

function read(text: string): Reading {
  const correction = LEAD_IN.test(text) && /^\s*(?:actually|in fact|correction|sorry|no|wait)\b/i.test(text);
  const clean = text.replace(LEAD_IN, '').trim();
  return {
    text: clean,
    tokens: contentWords(clean),
    subject: subjectOf(clean),
    slot: SLOTS.find((slot) => slot.pattern.test(clean))?.name ?? null,
    negated: NEGATION.test(clean),
    correction,
  };
}

function subjectOf(text: string): string {
  const relation = new RegExp(`^(?:my|our)\\s+(?:\\w+\\s+)?(${RELATIONS})\\b`, 'i').exec(text);
  if (relation) return relation[1].toLowerCase();
  if (/^(?:i|i'm|im|i've|i'd|i'll|me|my|we|our)\b/i.test(text)) return 'self';
  return `other:${(text.split(/\s+/)[0] ?? '').toLowerCase()}`;
}

function subjectName(subject: string): string {
  return subject === 'self' ? 'the user' : subject.replace(/^other:/, '');
}

/** Sentences of a message: split after . ! ? ; and at line breaks, keeping decimals and abbreviations like "e.g." whole. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?;])\s+(?=[A-Z0-9"'(])|\n+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** The content words of a text, lowercased and lightly stemmed. */
export function contentWords(text: string): Set<string> {
  const words = normalise(text)
    .replace(/'/g, '')
    .split(' ')
    .filter((w) => w.length > 0 && !STOPWORDS.has(w));
  return new Set(words.map(stem));
}

/** Dice coefficient of two word sets: 1 for the same words, 0 for none in common. */
export function dice(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const word of a) if (b.has(word)) shared += 1;
  return (2 * shared) / (a.size + b.size);
}

function isSubset(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const word of a) if (!b.has(word)) return false;
  return true;
}
