/**
 * Synthetic memories and queries for load runs: sentences from a fixed vocabulary, drawn with a seeded
 * PRNG so two runs see the same data. Realistic enough for the keyword leg (shared and rare words) and
 * for the hash embedder; meaningless for quality, which `bench:retrieval` measures on real data.
 */
const SUBJECTS = ['prefers', 'dislikes', 'recently bought', 'often talks about', 'is learning', 'visited', 'works on', 'collects'];
const OBJECTS = [
  'green tea', 'jazz records', 'mountain bikes', 'sourdough bread', 'vintage cameras', 'chess openings', 'rust compilers',
  'oil painting', 'marathon training', 'french cinema', 'board games', 'tropical plants', 'sailing', 'poetry', 'espresso',
  'astronomy', 'pottery', 'salsa dancing', 'birdwatching', 'electric guitars', 'knitting', 'sushi', 'rock climbing',
  'podcasts', 'woodworking', 'origami', 'street photography', 'baking bread', 'kayaking', 'language exchange',
];
const PLACES = ['Lisbon', 'Kyoto', 'Nairobi', 'Oslo', 'Lima', 'Hanoi', 'Porto', 'Tbilisi', 'Quito', 'Riga', 'Perth', 'Seville'];
const WHEN = ['last spring', 'every weekend', 'since 2019', 'in the evenings', 'on holidays', 'twice a month'];

export class SeededRandom {
  constructor(private state: number) {}
  next(): number {
    // mulberry32
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

export function memoryText(random: SeededRandom, index: number): string {
  return `${random.pick(SUBJECTS)} ${random.pick(OBJECTS)} in ${random.pick(PLACES)} ${random.pick(WHEN)} (note ${index})`;
}

export function queryText(random: SeededRandom): string {
  return `what about ${random.pick(OBJECTS)} in ${random.pick(PLACES)}`;
}
