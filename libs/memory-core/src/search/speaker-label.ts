/**
 * Speaker labels: a memory that starts with `Name: ...` records what Name said. That is how Engram stores a
 * conversation without inference (`role: content` per message) and how chat transcripts are usually written. A
 * question that names a participant is mostly answered by that participant's own words: on the locomo-dev set 98%
 * of the questions name a speaker, and 95% of their evidence turns were spoken by a speaker the question names.
 * Hybrid search uses this as a third, binary signal (see hybrid-fusion.ts).
 *
 * The rules, written so that SQL can apply the same ones:
 * - the label is the text before the first colon when the content starts (after white space) with a letter, has
 *   no newline or colon for at most 40 characters, then a colon followed by white space or the end:
 *   "Caroline: I went..." → "Caroline"; "10:30 call", "https://x" and "Note:todo" have none;
 * - label and query are cut into lower-case words ([letters and digits]+, the keyword leg's pattern, but without
 *   stop words or stemming: names are matched as written);
 * - the query names the speaker when every word of the label is among the query's words.
 *
 * The vector leg embeds the query without the names it gives (`withoutNamedSpeakers`): the speaker signal already
 * carries who is asked about, and the name, which is in none of the memories' bodies, only pulls the query's vector
 * towards "a message by Caroline" rather than towards what is asked.
 */

const SPEAKER_LABEL = /^\s*(\p{L}[^:\n]{0,39}):(?=\s|$)/u;
const WORD = /[\p{L}\p{N}]+/gu;
/** A word as `withoutNamedSpeakers` removes it: with a possessive 's or ' (straight or curly apostrophe). */
const WORD_WITH_POSSESSIVE = /[\p{L}\p{N}]+(?:['’]s?(?![\p{L}\p{N}]))?/gu;
const POSSESSIVE = /['’]s?$/;
const ANY_WORD = /[\p{L}\p{N}]/u;

function words(text: string): string[] {
  return [...text.toLowerCase().matchAll(WORD)].map(([word]) => word);
}

/** The content's speaker label as written ("Mary Ann" in "Mary Ann: hi"); null when it has none. */
export function speakerLabel(content: string): string | null {
  // A label ends at a colon: content without one has none, and skips the regular expression.
  if (!content.includes(':')) return null;
  return SPEAKER_LABEL.exec(content)?.[1] ?? null;
}

/** The words of the content's speaker label; empty when it has none. Computed once per content. */
export function speakerLabelWords(content: string): string[] {
  const label = speakerLabel(content);
  return label === null ? [] : words(label);
}

/** The query's words as speaker labels are matched against them. Computed once per search. */
export function queryWords(text: string): ReadonlySet<string> {
  return new Set(words(text));
}

export function namesSpeaker(labelWords: readonly string[], query: ReadonlySet<string>): boolean {
  return labelWords.length > 0 && labelWords.every((word) => query.has(word));
}

/**
 * The query as the vector leg embeds it: the words of every label among `labels` (a scope's speaker labels, as
 * `speakerLabel` reads them) that the query names, each with its possessive 's, removed, and white space
 * collapsed: "What is Caroline's identity?" → "What is identity?". The query itself when it names none of them, or
 * when nothing but names would be left ("Caroline?").
 */
export function withoutNamedSpeakers(text: string, labels: readonly string[]): string {
  const query = queryWords(text);
  const named = new Set<string>();
  for (const label of labels) {
    const labelWords = words(label);
    if (namesSpeaker(labelWords, query)) for (const word of labelWords) named.add(word);
  }
  if (named.size === 0) return text;
  const rest = text
    .replace(WORD_WITH_POSSESSIVE, (word) => (named.has(word.toLowerCase().replace(POSSESSIVE, '')) ? '' : word))
    .replace(/\s+/g, ' ')
    .trim();
  return ANY_WORD.test(rest) ? rest : text;
}
