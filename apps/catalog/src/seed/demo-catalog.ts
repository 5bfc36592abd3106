/**
 * The demo catalog: a category tree, the hand-written anchors (anchors.ts)
 * and generated products around them (deterministic: the same count gives the
 * same products), each with one to four priced variants. `seedDemoCatalog`
 * loads it for a tenant once: categories are upserted, products whose slug
 * exists are skipped, so a second start writes nothing.
 */
import { withTenant, withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit';
import { findCategory, insertProduct, upsertCategory, type ProductInput, type VariantInput } from '../store/catalog-store.ts';
import { ANCHORS } from './anchors.ts';

/** [slug, name, parent] in parent-first order. */
export const DEMO_CATEGORIES: readonly (readonly [string, string, string | null])[] = [
  ['home', 'Home', null], ['kitchen', 'Kitchen', 'home'], ['coffee', 'Coffee', 'kitchen'], ['cookware', 'Cookware', 'kitchen'], ['kitchen-knives', 'Kitchen knives', 'kitchen'],
  ['small-appliances', 'Small appliances', 'kitchen'], ['drinkware', 'Drinkware', 'kitchen'], ['cleaning', 'Cleaning', 'home'], ['lighting', 'Lighting', 'home'], ['bedding', 'Bedding', 'home'],
  ['electronics', 'Electronics', null], ['audio', 'Audio', 'electronics'], ['headphones', 'Headphones', 'audio'], ['speakers', 'Speakers', 'audio'], ['tablets', 'Tablets', 'electronics'],
  ['computer-accessories', 'Computer accessories', 'electronics'], ['phone-accessories', 'Phone accessories', 'electronics'], ['wearables', 'Wearables', 'electronics'], ['gaming', 'Gaming', 'electronics'],
  ['fashion', 'Fashion', null], ['shoes', 'Shoes', 'fashion'], ['running-shoes', 'Running shoes', 'shoes'], ['sandals', 'Sandals', 'shoes'], ['boots', 'Boots', 'shoes'],
  ['clothing', 'Clothing', 'fashion'], ['jeans', 'Jeans', 'clothing'], ['jackets', 'Jackets', 'clothing'], ['knitwear', 'Knitwear', 'clothing'], ['accessories', 'Accessories', 'fashion'],
  ['outdoors', 'Outdoors', null], ['backpacks', 'Backpacks', 'outdoors'], ['camping', 'Camping', 'outdoors'], ['garden', 'Garden', 'outdoors'],
  ['sports', 'Sports', null], ['fitness', 'Fitness', 'sports'], ['toys', 'Toys', null], ['stationery', 'Stationery', null],
  ['beauty', 'Beauty', null], ['skincare', 'Skincare', 'beauty'], ['personal-care', 'Personal care', 'beauty'],
];

/** What generated products of each leaf category are called. */
const NOUNS: Record<string, string[]> = {
  coffee: ['coffee grinder', 'french press', 'milk frother', 'coffee scale', 'espresso cups', 'cold brew maker'],
  cookware: ['saucepan', 'frying pan', 'stock pot', 'wok', 'roasting tin', 'griddle pan'],
  'kitchen-knives': ['paring knife', 'bread knife', 'knife block', 'knife sharpener', 'utility knife'],
  'small-appliances': ['toaster', 'electric kettle', 'air fryer', 'hand blender', 'juicer', 'rice cooker'],
  drinkware: ['travel mug', 'glass tumbler', 'wine glasses', 'coffee mug', 'flask'],
  cleaning: ['microfibre cloths', 'steam mop', 'dustpan set', 'laundry basket', 'spray bottle'],
  lighting: ['floor lamp', 'pendant light', 'led strip', 'table lamp', 'night light'],
  bedding: ['duvet cover', 'blanket', 'mattress topper', 'cushion', 'throw'],
  headphones: ['earphones', 'headset', 'sport earbuds', 'kids headphones'],
  speakers: ['soundbar', 'bookshelf speakers', 'party speaker', 'radio'],
  tablets: ['tablet case', 'stylus', 'tablet stand', 'screen protector'],
  'computer-accessories': ['usb hub', 'webcam', 'laptop stand', 'mouse pad', 'monitor arm'],
  'phone-accessories': ['phone case', 'wireless charger', 'usb cable', 'car mount', 'wall charger'],
  wearables: ['smart band', 'watch strap', 'smart ring'],
  gaming: ['gaming chair', 'gaming mouse', 'controller stand', 'gaming headset'],
  'running-shoes': ['road shoes', 'racing flats', 'trail trainers'],
  sandals: ['slides', 'flip flops', 'walking sandals'],
  boots: ['chelsea boots', 'hiking boots', 'rain boots', 'ankle boots'],
  jeans: ['slim jeans', 'skinny jeans', 'bootcut jeans', 'denim shorts'],
  jackets: ['fleece jacket', 'bomber jacket', 'windbreaker', 'parka', 'gilet'],
  knitwear: ['cardigan', 'hoodie', 'jumper', 'cable knit sweater'],
  accessories: ['belt', 'scarf', 'beanie', 'wallet', 'cap'],
  backpacks: ['rucksack', 'sling bag', 'duffel bag', 'hydration pack'],
  camping: ['sleeping bag', 'camping chair', 'headlamp', 'lantern', 'camping mat'],
  garden: ['garden hose', 'watering can', 'plant pots', 'garden gloves', 'rake'],
  fitness: ['resistance bands', 'kettlebell', 'skipping rope', 'foam roller', 'pull up bar'],
  toys: ['puzzle', 'board game', 'plush toy', 'rc car', 'building blocks'],
  stationery: ['pencil case', 'planner', 'sketchbook', 'highlighters', 'desk organiser'],
  skincare: ['face serum', 'sunscreen', 'cleanser', 'lip balm', 'face mask'],
  'personal-care': ['hair dryer', 'beard trimmer', 'hair straightener', 'bath towel'],
};
const BRANDS = ['Northwind', 'Alder', 'Brightline', 'Copperleaf', 'Driftwood', 'Evergreen', 'Foxglove', 'Granite', 'Harbour', 'Ironbark', 'Juniper', 'Kestrel', 'Lumen', 'Meridian', 'Nimbus', 'Oakridge', 'Pinecrest', 'Quarry', 'Riverstone', 'Saltmarsh', 'Timberline', 'Upland', 'Vantage', 'Willow', 'Yarrow', 'Zephyr'];
const ADJECTIVES = ['classic', 'compact', 'deluxe', 'essential', 'lightweight', 'premium', 'everyday', 'heavy duty', 'slim', 'vintage', 'modern', 'foldable', 'eco', 'pro', 'mini'];
const COLOURS = ['black', 'white', 'grey', 'navy', 'red', 'green', 'sand', 'blue'];
const SIZES = ['S', 'M', 'L', 'XL'];

/** mulberry32: a small deterministic PRNG. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const slugify = (s: string): string => s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const title = (s: string): string => s.replace(/\b[a-z]/g, (c) => c.toUpperCase());

/** The `count` products of the demo catalog (anchors first), the same ones for the same count. */
export function demoProducts(count: number): ProductInput[] {
  return [...generateDemoProducts(count)];
}

/**
 * The demo catalog one product at a time, in the same order and with the same values as
 * demoProducts (which collects it): a bulk load of 1,000,000 streams it without holding it.
 */
export function* generateDemoProducts(count: number): Generator<ProductInput> {
  const anchors: ProductInput[] = ANCHORS.slice(0, count).map((p, i) => ({
    slug: p.slug,
    name: p.name,
    brand: p.brand,
    description: p.description,
    category: p.category,
    tags: p.tags,
    images: [`https://images.bulwark.test/products/${p.slug}.jpg`],
    popularity: 5_000 + ((i * 7919) % 5_000),
    variants: [{ sku: `${p.slug.toUpperCase().slice(0, 40)}-STD`, attributes: {}, price: { amount: p.price, currency: 'EUR' } }],
  }));
  yield* anchors;
  const rnd = random(28);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const leaves = Object.keys(NOUNS);
  for (let i = anchors.length; i < count; i++) {
    const category = leaves[i % leaves.length]!;
    const noun = pick(NOUNS[category]!);
    const brand = pick(BRANDS);
    const adjective = pick(ADJECTIVES);
    const colour = pick(COLOURS);
    const name = `${brand} ${title(adjective)} ${title(noun)}`;
    const slug = `${slugify(name)}-${i}`;
    const base = 500 + Math.floor(rnd() * 30_000);
    const sized = category in { jeans: 1, jackets: 1, knitwear: 1, 'running-shoes': 1, boots: 1, sandals: 1 };
    const variants: VariantInput[] = (sized ? SIZES.slice(0, 1 + Math.floor(rnd() * 4)) : [null]).map((size, k) => ({
      sku: `G${i}-${k}`,
      attributes: (size === null ? { colour } : { colour, size }) as Record<string, string>,
      price: { amount: base + k * 200, currency: 'EUR' },
    }));
    yield {
      slug,
      name,
      brand,
      description: `A ${adjective} ${noun} in ${colour} from ${brand}. Built for daily use, easy to clean and backed by a two year guarantee.`,
      category,
      tags: [adjective, colour, noun.split(' ').at(-1)!],
      images: [`https://images.bulwark.test/products/${slug}.jpg`],
      popularity: Math.floor(rnd() * rnd() * 3_000),
      variants,
    };
  }
}

/** Loads the demo catalog into `tenant` (owner pool, row-level security as the tenant); returns the products written. */
export async function seedDemoCatalog(pool: DbPool, tenant: string, count: number, log?: Logger): Promise<number> {
  return withTenant(tenant, async () => {
    for (const [slug, name, parent] of DEMO_CATEGORIES) {
      const existing = await findCategory(pool, slug);
      if (!existing) await upsertCategory(pool, { slug, name, parent, path: parent === null ? slug : `${(await findCategory(pool, parent))!.path}/${slug}` }, undefined);
    }
    const { rows } = await pool.query<{ slug: string }>('SELECT slug FROM products');
    const have = new Set(rows.map((r) => r.slug));
    const missing = demoProducts(count).filter((p) => !have.has(p.slug));
    for (let i = 0; i < missing.length; i += 250) {
      await withTransaction(pool, async (tx) => {
        for (const p of missing.slice(i, i + 250)) await insertProduct(tx, crypto.randomUUID(), p);
      });
    }
    if (missing.length > 0) log?.info({ tenant, written: missing.length, count }, 'demo catalog seeded');
    return missing.length;
  });
}
