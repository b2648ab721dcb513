import { describe, expect, it } from '@jest/globals';
import { namesSpeaker, queryWords, speakerLabel, speakerLabelWords, withoutNamedSpeakers } from './speaker-label.js';

describe('speakerLabelWords', () => {
  it.each([
    ['Alice: I started pottery classes', ['alice']],
    ['  Dr Who: hello', ['dr', 'who']],
    ['user: my favourite colour is teal', ['user']],
    ['Bob:', ['bob']],
  ])('should read the label of %j', (content, words) => {
    expect(speakerLabelWords(content)).toEqual(words);
  });

  it.each([
    'Meeting at 10:30 tomorrow',
    '10:30 standup',
    'https://example.com is the site',
    'Note:no space after the colon',
    'No label here',
    'A label much longer than forty characters in all: text',
    'first line\nBob: second line',
  ])('should find no label in %j', (content) => {
    expect(speakerLabelWords(content)).toEqual([]);
  });
});

describe('speakerLabel', () => {
  it.each([
    ['Alice: I started pottery classes', 'Alice'],
    ['  Mary Ann: we painted a sunrise', 'Mary Ann'],
    ['Bob:', 'Bob'],
    ['10:30 standup', null],
    ['No label here', null],
  ])('should read the label of %j as written', (content, label) => {
    expect(speakerLabel(content)).toBe(label);
  });
});

describe('namesSpeaker', () => {
  it('should match when every word of the label is in the query, whatever the case', () => {
    expect(namesSpeaker(['alice'], queryWords("What is Alice's new hobby?"))).toBe(true);
    expect(namesSpeaker(['dr', 'who'], queryWords('Where did Dr Who travel?'))).toBe(true);
    expect(namesSpeaker(['dr', 'who'], queryWords('Who is the doctor?'))).toBe(false);
    expect(namesSpeaker(['alice'], queryWords('What does Bob like?'))).toBe(false);
  });

  it('should never match a memory without a label', () => {
    expect(namesSpeaker([], queryWords('anything at all'))).toBe(false);
  });
});

describe('withoutNamedSpeakers', () => {
  const labels = ['Caroline', 'Melanie', 'Mary Ann'];

  it.each([
    ["What is Caroline's identity?", 'What is identity?'],
    ['What is Caroline’s identity?', 'What is identity?'],
    ['When did Caroline and Melanie go camping?', 'When did and go camping?'],
    ['What did MELANIE paint?', 'What did paint?'],
    ['What did Mary Ann bake?', 'What did bake?'],
    ["Where do the Marys' parents live?", "Where do the Marys' parents live?"],
    ['What did Mary say?', 'What did Mary say?'],
    ['What did Carolinee say?', 'What did Carolinee say?'],
    ["What is Caroline's friends' hobby?", "What is friends' hobby?"],
  ])('should turn %j into %j', (text, expected) => {
    expect(withoutNamedSpeakers(text, labels)).toBe(expected);
  });

  it('should leave the query alone when it names no label of the scope', () => {
    expect(withoutNamedSpeakers('What does Bob like?', labels)).toBe('What does Bob like?');
    expect(withoutNamedSpeakers("What is Caroline's identity?", [])).toBe("What is Caroline's identity?");
  });

  it('should remove every word of a named label wherever it appears, and only those', () => {
    // "Ann" alone does not name "Mary Ann", but once "Mary Ann" is named both words go.
    expect(withoutNamedSpeakers('Did Mary Ann meet Ann?', labels)).toBe('Did meet ?');
    expect(withoutNamedSpeakers('Did Ann call?', labels)).toBe('Did Ann call?');
  });

  it('should keep the query when nothing but names would be left', () => {
    expect(withoutNamedSpeakers("Caroline's?", labels)).toBe("Caroline's?");
    expect(withoutNamedSpeakers('Caroline, Melanie', labels)).toBe('Caroline, Melanie');
  });
});
