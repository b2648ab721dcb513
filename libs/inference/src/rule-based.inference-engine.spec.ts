import { describe, expect, it } from '@jest/globals';
import { RuleBasedInferenceEngine, dice, contentWords, splitSentences } from './rule-based.inference-engine.js';

describe('RuleBasedInferenceEngine', () => {
  const sut = new RuleBasedInferenceEngine();

  it('extracts the sentences of the user turns, without questions, small talk or lead-ins', async () => {
    const facts = await sut.extract([
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Hi! I live in Paris. I work at Acme as a designer. Do you know a good bakery?' },
      { role: 'assistant', content: 'Paris has many bakeries.' },
      { role: 'user', content: 'Actually, my sister lives in Rome.\nThanks' },
    ]);
    expect(facts).toEqual(['I live in Paris', 'I work at Acme as a designer', 'my sister lives in Rome']);
  });

  it('splits sentences without breaking numbers', () => {
    expect(splitSentences('I am 3.5 feet tall. Next one! And a third')).toEqual([
      'I am 3.5 feet tall.',
      'Next one!',
      'And a third',
    ]);
  });

  it('a correction of where the user lives UPDATEs the memory', async () => {
    const [decision] = await sut.decide(['I moved to Berlin'], [{ id: 'm1', content: 'I live in Paris' }]);
    expect(decision).toMatchObject({ op: 'UPDATE', target: 'm1', content: 'I moved to Berlin' });
    expect(decision.reason).toMatch(/residence/);
  });

  it('keeps another subject apart: my sister moving does not move me', async () => {
    const [decision] = await sut.decide(['My sister moved to Berlin'], [{ id: 'm1', content: 'I live in Paris' }]);
    expect(decision.op).toBe('ADD');
  });

  it('a restatement is NONE; a near-duplicate with more words UPDATEs instead of adding a duplicate', async () => {
    const existing = [{ id: 'm1', content: 'I am allergic to peanuts' }];
    expect((await sut.decide(['I am allergic to peanuts'], existing))[0]).toMatchObject({ op: 'NONE', target: 'm1' });
    expect((await sut.decide(['I am severely allergic to peanuts'], existing))[0]).toMatchObject({
      op: 'UPDATE',
      target: 'm1',
    });
  });

  it('a negation DELETEs the memory it contradicts', async () => {
    const [decision] = await sut.decide(['I no longer like coffee'], [{ id: 'm1', content: 'I like coffee' }]);
    expect(decision).toMatchObject({ op: 'DELETE', target: 'm1' });
  });

  it('unrelated facts are ADDed; facts of the same add see each other', async () => {
    const decisions = await sut.decide(['I live in Paris', 'I enjoy hiking', 'I moved to Lyon'], []);
    expect(decisions.map((d) => d.op)).toEqual(['ADD', 'ADD', 'UPDATE']);
    expect(decisions[2]).toMatchObject({ target: 'fact:0' });
  });

  it('measures similarity on content words', () => {
    expect(dice(contentWords('I like green tea'), contentWords('I like the green tea'))).toBe(1);
    expect(dice(contentWords('I like tea'), contentWords('Paris is big'))).toBe(0);
  });
});
