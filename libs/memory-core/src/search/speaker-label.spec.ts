import { describe, expect, it } from '@jest/globals';
import { namesSpeaker, queryWords, speakerLabelWords } from './speaker-label.js';

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
