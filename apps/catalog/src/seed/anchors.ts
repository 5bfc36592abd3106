/**
 * Hand-written products of the demo catalog: distinctive, realistic items the
 * relevance set (test/relevance/*.json) names by slug. The generator
 * (demo-catalog.ts) surrounds them with thousands of ordinary ones.
 */

export interface AnchorProduct {
  slug: string;
  name: string;
  brand: string;
  category: string;
  tags: string[];
  description: string;
  /** Price of the first variant in cents (EUR). */
  price: number;
}

const a = (slug: string, name: string, brand: string, category: string, tags: string[], price: number, description: string): AnchorProduct => ({ slug, name, brand, category, tags, price, description });

export const ANCHORS: readonly AnchorProduct[] = [
  a('bialetti-moka-express', 'Moka Express Stovetop Espresso Maker', 'Bialetti', 'coffee', ['moka', 'stovetop', 'italian'], 3490, 'The octagonal aluminium moka pot that brews rich espresso-style coffee on any gas or electric hob.'),
  a('aeropress-original', 'AeroPress Original Coffee Press', 'AeroPress', 'coffee', ['immersion', 'travel'], 3990, 'A lightweight press that makes smooth coffee in a minute; ideal for camping and the office.'),
  a('chemex-six-cup', 'Chemex Six Cup Pour Over Carafe', 'Chemex', 'coffee', ['pour over', 'glass'], 4990, 'Hourglass borosilicate carafe with a wooden collar for clean, bright filter coffee.'),
  a('hario-v60-dripper', 'Hario V60 Ceramic Dripper', 'Hario', 'coffee', ['pour over', 'ceramic'], 2290, 'Cone dripper with spiral ribs for precise pour over brewing.'),
  a('baratza-encore-grinder', 'Baratza Encore Conical Burr Grinder', 'Baratza', 'coffee', ['grinder', 'burr'], 15900, 'Entry-level electric burr grinder with forty grind settings from espresso to French press.'),
  a('le-creuset-dutch-oven', 'Le Creuset Signature Cast Iron Dutch Oven', 'Le Creuset', 'cookware', ['enamel', 'casserole'], 34900, 'Enamelled cast iron round casserole for braising, baking bread and slow cooking.'),
  a('lodge-cast-iron-skillet', 'Lodge Cast Iron Skillet 26 cm', 'Lodge', 'cookware', ['frying pan', 'preseasoned'], 3490, 'Pre-seasoned cast iron frying pan that goes from hob to oven to campfire.'),
  a('victorinox-chef-knife', 'Victorinox Fibrox Chef Knife 20 cm', 'Victorinox', 'kitchen-knives', ['knife', 'stainless'], 4490, 'A sharp, balanced stainless steel chef knife with a non-slip handle.'),
  a('global-santoku-knife', 'Global Santoku Knife 18 cm', 'Global', 'kitchen-knives', ['japanese', 'knife'], 11900, 'Japanese santoku with a hollow steel handle for slicing, dicing and mincing.'),
  a('kitchenaid-stand-mixer', 'KitchenAid Artisan Stand Mixer', 'KitchenAid', 'small-appliances', ['mixer', 'baking'], 54900, 'Tilt-head stand mixer with a 4.8 litre bowl, whisk, dough hook and flat beater.'),
  a('vitamix-blender', 'Vitamix Explorian Blender', 'Vitamix', 'small-appliances', ['blender', 'smoothie'], 44900, 'High-performance blender for smoothies, soups and nut butters.'),
  a('instant-pot-duo', 'Instant Pot Duo Pressure Cooker', 'Instant Pot', 'small-appliances', ['pressure cooker', 'slow cooker'], 9990, 'Seven-in-one electric pressure cooker, slow cooker, rice cooker and steamer.'),
  a('sony-wh1000xm5', 'Sony WH-1000XM5 Wireless Noise Cancelling Headphones', 'Sony', 'headphones', ['bluetooth', 'noise cancelling', 'over ear'], 37900, 'Industry-leading noise cancellation with thirty hours of battery and crystal clear calls.'),
  a('bose-quietcomfort-earbuds', 'Bose QuietComfort Earbuds II', 'Bose', 'headphones', ['earbuds', 'bluetooth', 'noise cancelling'], 29900, 'True wireless earbuds with personalised noise cancellation.'),
  a('sennheiser-hd600', 'Sennheiser HD 600 Open Back Headphones', 'Sennheiser', 'headphones', ['audiophile', 'wired', 'open back'], 34900, 'Reference open-back dynamic headphones for mixing and critical listening.'),
  a('jbl-flip-speaker', 'JBL Flip 6 Portable Bluetooth Speaker', 'JBL', 'speakers', ['waterproof', 'portable'], 12900, 'Waterproof portable speaker with bold sound and twelve hours of playtime.'),
  a('sonos-era-speaker', 'Sonos Era 100 Smart Speaker', 'Sonos', 'speakers', ['wifi', 'smart', 'voice'], 27900, 'Compact smart speaker with stereo sound and voice control.'),
  a('kindle-paperwhite', 'Kindle Paperwhite E-Reader', 'Amazon', 'tablets', ['ebook', 'reader'], 14999, 'Glare-free 6.8 inch display, adjustable warm light and weeks of battery life.'),
  a('ipad-air', 'iPad Air 11 inch Tablet', 'Apple', 'tablets', ['tablet', 'ios'], 69900, 'Thin and light tablet with the M2 chip and a Liquid Retina display.'),
  a('logitech-mx-master', 'Logitech MX Master 3S Wireless Mouse', 'Logitech', 'computer-accessories', ['mouse', 'ergonomic'], 10999, 'Ergonomic performance mouse with quiet clicks and an electromagnetic scroll wheel.'),
  a('keychron-k2-keyboard', 'Keychron K2 Mechanical Keyboard', 'Keychron', 'computer-accessories', ['keyboard', 'mechanical', 'bluetooth'], 8900, 'Compact seventy-five percent wireless mechanical keyboard with hot-swappable switches.'),
  a('anker-powerbank', 'Anker PowerCore 20000 Power Bank', 'Anker', 'phone-accessories', ['charger', 'battery'], 4999, 'High-capacity portable charger that refills a phone four times.'),
  a('garmin-forerunner', 'Garmin Forerunner 265 GPS Running Watch', 'Garmin', 'wearables', ['gps', 'smartwatch', 'running'], 44999, 'Running smartwatch with an AMOLED display, training readiness and heart rate.'),
  a('fitbit-charge', 'Fitbit Charge 6 Fitness Tracker', 'Fitbit', 'wearables', ['tracker', 'heart rate'], 15999, 'Fitness tracker with built-in GPS, sleep tracking and heart rate.'),
  a('nike-pegasus', 'Nike Air Zoom Pegasus 40 Running Shoes', 'Nike', 'running-shoes', ['road running', 'trainers'], 12999, 'Responsive everyday road running shoe with Zoom Air cushioning.'),
  a('hoka-speedgoat', 'Hoka Speedgoat 5 Trail Running Shoes', 'Hoka', 'running-shoes', ['trail', 'trainers'], 14999, 'Cushioned trail shoe with a grippy Vibram outsole for technical terrain.'),
  a('birkenstock-arizona', 'Birkenstock Arizona Suede Sandals', 'Birkenstock', 'sandals', ['suede', 'footbed'], 10999, 'Two-strap sandals with the contoured cork footbed.'),
  a('dr-martens-1460', 'Dr. Martens 1460 Smooth Leather Boots', 'Dr. Martens', 'boots', ['leather', 'lace up'], 18999, 'Eight-eye lace-up boots with the air-cushioned sole and yellow welt stitching.'),
  a('levis-501-jeans', "Levi's 501 Original Fit Jeans", "Levi's", 'jeans', ['denim', 'straight'], 10999, 'Straight-leg button-fly denim jeans, the original since 1873.'),
  a('patagonia-nano-puff', 'Patagonia Nano Puff Insulated Jacket', 'Patagonia', 'jackets', ['insulated', 'packable', 'outdoor'], 22999, 'Warm, windproof, packable synthetic insulation jacket.'),
  a('arcteryx-beta-jacket', "Arc'teryx Beta Gore-Tex Rain Jacket", "Arc'teryx", 'jackets', ['waterproof', 'shell', 'hiking'], 44999, 'Lightweight waterproof shell for hiking and everyday rain.'),
  a('uniqlo-merino-sweater', 'Uniqlo Extra Fine Merino Crew Neck Sweater', 'Uniqlo', 'knitwear', ['wool', 'merino'], 3990, 'Soft, fine merino wool jumper for layering.'),
  a('north-face-borealis', 'The North Face Borealis Backpack', 'The North Face', 'backpacks', ['laptop', 'daypack'], 9999, 'Twenty-eight litre daypack with a padded laptop sleeve and FlexVent suspension.'),
  a('osprey-atmos-backpack', 'Osprey Atmos AG 65 Hiking Backpack', 'Osprey', 'backpacks', ['trekking', 'hiking'], 29999, 'Anti-gravity suspension backpack for multi-day trekking.'),
  a('msr-pocketrocket-stove', 'MSR PocketRocket 2 Camping Stove', 'MSR', 'camping', ['stove', 'backpacking'], 4999, 'Ultralight canister stove that boils a litre of water in three and a half minutes.'),
  a('big-agnes-tent', 'Big Agnes Copper Spur Two Person Tent', 'Big Agnes', 'camping', ['tent', 'ultralight'], 54999, 'Freestanding ultralight backpacking tent for two.'),
  a('yeti-rambler-tumbler', 'Yeti Rambler Insulated Tumbler', 'Yeti', 'drinkware', ['vacuum', 'travel mug', 'stainless'], 3999, 'Double-wall vacuum insulated stainless steel tumbler that keeps drinks hot or cold.'),
  a('hydro-flask-bottle', 'Hydro Flask Wide Mouth Water Bottle', 'Hydro Flask', 'drinkware', ['water bottle', 'insulated'], 4499, 'Insulated stainless steel water bottle, cold for twenty-four hours.'),
  a('dyson-v15-vacuum', 'Dyson V15 Detect Cordless Vacuum Cleaner', 'Dyson', 'cleaning', ['vacuum', 'cordless'], 69999, 'Cordless stick vacuum with a laser that reveals microscopic dust.'),
  a('roomba-robot-vacuum', 'iRobot Roomba Combo Robot Vacuum and Mop', 'iRobot', 'cleaning', ['robot', 'vacuum', 'mop'], 49999, 'Robot vacuum cleaner and mop with smart mapping.'),
  a('philips-hue-starter', 'Philips Hue White and Colour Starter Kit', 'Philips Hue', 'lighting', ['smart bulb', 'led'], 19999, 'Three smart LED bulbs and a bridge with sixteen million colours.'),
  a('ikea-besta-lamp', 'Ikea Ranarp Desk Lamp', 'Ikea', 'lighting', ['desk lamp', 'steel'], 3999, 'Adjustable steel work lamp with a vintage look.'),
  a('casper-pillow', 'Casper Original Pillow', 'Casper', 'bedding', ['pillow', 'sleep'], 6500, 'Supportive pillow-in-pillow design for back and side sleepers.'),
  a('brooklinen-sheets', 'Brooklinen Luxe Sateen Sheet Set', 'Brooklinen', 'bedding', ['cotton', 'sateen', 'sheets'], 18900, 'Buttery smooth long-staple cotton sateen sheets.'),
  a('lego-millennium-falcon', 'Lego Star Wars Millennium Falcon', 'Lego', 'toys', ['star wars', 'building set'], 16999, 'Detailed building set of the legendary Corellian freighter.'),
  a('nintendo-switch-oled', 'Nintendo Switch OLED Console', 'Nintendo', 'gaming', ['console', 'handheld'], 34999, 'Hybrid games console with a vivid seven inch OLED screen.'),
  a('playstation-dualsense', 'PlayStation DualSense Wireless Controller', 'Sony', 'gaming', ['controller', 'gamepad', 'ps5'], 6999, 'Controller with haptic feedback and adaptive triggers.'),
  a('moleskine-notebook', 'Moleskine Classic Hardcover Notebook', 'Moleskine', 'stationery', ['journal', 'ruled'], 1999, 'Large ruled notebook with an elastic closure and ribbon bookmark.'),
  a('lamy-safari-pen', 'Lamy Safari Fountain Pen', 'Lamy', 'stationery', ['fountain pen', 'ink'], 2499, 'Sturdy fountain pen with an ergonomic grip and a steel nib.'),
  a('weber-kettle-grill', 'Weber Original Kettle Charcoal Grill 57 cm', 'Weber', 'garden', ['barbecue', 'bbq', 'charcoal'], 22999, 'The classic charcoal kettle barbecue with a one-touch cleaning system.'),
  a('fiskars-pruning-shears', 'Fiskars PowerGear Pruning Shears', 'Fiskars', 'garden', ['secateurs', 'pruner'], 3499, 'Bypass pruner with a gear mechanism for cutting thick branches with ease.'),
  a('theragun-massager', 'Theragun Prime Percussive Massage Gun', 'Therabody', 'fitness', ['massage gun', 'recovery'], 29999, 'Percussive therapy device for muscle recovery.'),
  a('manduka-yoga-mat', 'Manduka PRO Yoga Mat', 'Manduka', 'fitness', ['yoga', 'mat'], 12999, 'Dense, cushioned yoga mat with a closed-cell surface.'),
  a('bowflex-dumbbells', 'Bowflex SelectTech 552 Adjustable Dumbbells', 'Bowflex', 'fitness', ['weights', 'home gym'], 42999, 'Adjustable dumbbells from two to twenty-four kilograms.'),
  a('ray-ban-wayfarer', 'Ray-Ban Original Wayfarer Sunglasses', 'Ray-Ban', 'accessories', ['sunglasses', 'polarized'], 16900, 'Iconic acetate sunglasses with G-15 lenses.'),
  a('casio-g-shock', 'Casio G-Shock DW5600 Digital Watch', 'Casio', 'accessories', ['watch', 'shock resistant'], 8999, 'Tough shock-resistant digital watch with a two hundred metre water rating.'),
  a('fjallraven-kanken', 'Fjallraven Kanken Classic Backpack', 'Fjallraven', 'backpacks', ['school', 'everyday'], 8999, 'Iconic boxy backpack of durable Vinylon F fabric.'),
  a('cerave-moisturising-cream', 'CeraVe Moisturising Cream', 'CeraVe', 'skincare', ['moisturiser', 'ceramides'], 1599, 'Rich non-greasy cream with ceramides and hyaluronic acid for dry skin.'),
  a('oral-b-io-toothbrush', 'Oral-B iO Series 9 Electric Toothbrush', 'Oral-B', 'personal-care', ['toothbrush', 'electric'], 27999, 'Electric toothbrush with a magnetic drive and an interactive display.'),
  a('braun-series-9-shaver', 'Braun Series 9 Pro Electric Shaver', 'Braun', 'personal-care', ['shaver', 'razor'], 32999, 'Foil shaver with a cleaning centre and five shaving elements.'),
];
