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
 */

const SPEAKER_LABEL = /^\s*(\p{L}[^:\n]{0,39}):(?=\s|$)/u;
const WORD = /[\p{L}\p{N}]+/gu;

function words(text: string): string[] {
  return [...text.toLowerCase().matchAll(WORD)].map(([word]) => word);
}

/** The words of the content's speaker label; empty when it has none. Computed once per content. */
export function speakerLabelWords(content: string): string[] {
  const match = SPEAKER_LABEL.exec(content);
  return match ? words(match[1]) : [];
}

/** The query's words as speaker labels are matched against them. Computed once per search. */
export function queryWords(text: string): ReadonlySet<string> {
  return new Set(words(text));
}

export function namesSpeaker(labelWords: readonly string[], query: ReadonlySet<string>): boolean {
  return labelWords.length > 0 && labelWords.every((word) => query.has(word));
}
