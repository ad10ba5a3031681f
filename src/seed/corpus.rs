//! Synthetic but realistic twoots for demo data and large benchmark seeds,
//! generated deterministically from a caller-supplied RNG.

use std::fmt::Write as _;

use rand::Rng;

/// The tags synthetic twoots are posted under: exactly 50 of them.
pub const TAGS: &[&str] = &[
    "coffee",
    "tea",
    "hiking",
    "rustlang",
    "gardening",
    "jazz",
    "startups",
    "climate",
    "football",
    "baking",
    "photography",
    "running",
    "cycling",
    "books",
    "movies",
    "gaming",
    "cooking",
    "travel",
    "vinyl",
    "chess",
    "yoga",
    "cats",
    "dogs",
    "birding",
    "astronomy",
    "linux",
    "opensource",
    "python",
    "webdev",
    "databases",
    "devops",
    "security",
    "machine-learning",
    "design",
    "knitting",
    "woodworking",
    "podcasts",
    "basketball",
    "tennis",
    "swimming",
    "climbing",
    "camping",
    "music",
    "art",
    "history",
    "science",
    "parenting",
    "remote_work",
    "boardgames",
    "weather",
];

/// The service caps a twoot at this many Unicode scalar values.
const MAX_CHARS: usize = 280;

/// Words for one topic. Phrases may contain slots that [`fill`] expands:
/// `{t}` the topic, `{m}` an @mention, `{p}` a venue (after "at"), `{x}` a
/// city (after "in"), `{n}` a small number, `{c}` an early-morning time.
struct Vocab {
    /// Noun phrases that read naturally before "is ..." or after "about".
    things: &'static [&'static str],
    /// Past-tense clauses that complete "I ...".
    doings: &'static [&'static str],
    /// Trailing circumstances that can follow any of `doings`.
    details: &'static [&'static str],
    /// Complete questions, lowercase first letter, ending in '?'.
    questions: &'static [&'static str],
    /// Hashtags without the '#'.
    hashtags: &'static [&'static str],
}

static GENERIC: Vocab = Vocab {
    things: &[
        "{t}",
        "my {t} era",
        "the {t} community",
        "the local {t} scene",
        "{t} on a Sunday morning",
        "this whole {t} thing",
        "beginner {t} advice",
        "{t} content on here",
        "the {t} meetup at {p}",
        "the {t} threads on my feed",
        "getting into {t} as an adult",
        "talking about {t} with strangers",
    ],
    doings: &[
        "spent the whole evening reading about {t}",
        "went down a rabbit hole about {t}",
        "signed up for a beginner {t} workshop",
        "talked about {t} through an entire dinner",
        "watched a two-hour documentary about {t}",
        "joined the local {t} group that meets on Thursdays",
        "made a spreadsheet to track my {t} progress",
        "explained {t} to my grandma",
        "bought a secondhand book about {t}",
        "started a tiny newsletter about {t}",
        "found a great podcast about {t}",
        "convinced {m} to give {t} a try",
        "cancelled plans to stay home with {t}",
        "spent {n} hours on {t} this weekend",
        "met the nicest people at the {t} meetup",
        "wrote a very long thread about {t}",
        "got way too into {t}",
        "made a playlist just for {t}",
    ],
    details: &[
        "last night",
        "before work",
        "on a rainy Tuesday",
        "at 2am for some reason",
        "during my lunch break",
        "with {m}",
        "at {p}",
        "in {x}",
        "for the third weekend in a row",
        "instead of doing my taxes",
        "and I regret nothing",
        "while my tea went cold",
        "on the train home",
        "and it was lovely",
        "at {c} before anyone else was up",
    ],
    questions: &[
        "what got you into {t}?",
        "how do you find time for {t}?",
        "what's one thing you wish you knew when you started with {t}?",
        "is {t} getting more expensive or is it just me?",
        "which {t} accounts should I follow?",
        "what's the most overrated thing about {t}?",
        "any {t} recommendations for a total beginner?",
        "is it too late to get into {t} at 40?",
        "what's your hottest {t} take?",
    ],
    hashtags: &[
        "weekend",
        "smalljoys",
        "hobbies",
        "til",
        "learning",
        "mondaymood",
    ],
};

static COFFEE: Vocab = Vocab {
    things: &[
        "my pour-over",
        "the new burr grinder",
        "a proper flat white",
        "cold brew season",
        "the café around the corner",
        "my moka pot",
        "single-origin Ethiopian beans",
        "oat milk foam",
        "the espresso machine at work",
        "decaf after 3pm",
    ],
    doings: &[
        "dialed in a 1:16 ratio",
        "pulled the best shot of my life",
        "tried a natural-process Kenyan roast",
        "descaled the espresso machine",
        "drank {n} cups before noon",
        "burned my tongue on a cortado",
        "found a roaster in {x} that ships",
        "tried latte art and made a sad blob",
        "switched to a hand grinder",
    ],
    details: &[
        "before the kids woke up",
        "at the café on the corner",
        "with beans from a tiny roaster",
        "while it rained outside",
        "and it tasted like blueberries",
        "and the whole flat smells amazing",
        "right before a 9am standup",
    ],
    questions: &[
        "what grinder should I get under $200?",
        "is a gooseneck kettle actually worth it?",
        "how do you keep cold brew from tasting flat?",
        "V60 or AeroPress for travel?",
        "what's your go-to ratio?",
    ],
    hashtags: &["specialtycoffee", "butfirstcoffee", "espresso"],
};

static HIKING: Vocab = Vocab {
    things: &[
        "the ridge trail",
        "my new boots",
        "a sunrise summit",
        "the last two kilometres of switchbacks",
        "trail mix with too many raisins",
        "the hut at the top",
        "alpine lakes in September",
        "a good pair of wool socks",
    ],
    doings: &[
        "hiked {n} km along the ridge",
        "made it to the summit before the clouds rolled in",
        "got lost for an hour on a marked trail",
        "saw a marmot up close",
        "broke in my new boots",
        "did the loop above Lake Brienz",
        "packed way too many snacks",
        "finished the trail in the rain",
    ],
    details: &[
        "with {m} and her dog",
        "in perfect autumn light",
        "without a single blister",
        "above the tree line",
        "right before sunset",
        "on the first clear day in weeks",
    ],
    questions: &[
        "best day hikes within two hours of the city?",
        "trekking poles: game changer or gimmick?",
        "how do you pack light for a two-day hut trip?",
        "what's the best trail snack, wrong answers only?",
    ],
    hashtags: &["getoutside", "trails", "mountains"],
};

static RUSTLANG: Vocab = Vocab {
    things: &[
        "the borrow checker",
        "async Rust",
        "cargo clippy",
        "my first proc macro",
        "lifetimes in trait objects",
        "the new release notes",
        "serde",
        "a zero-copy parser",
        "error handling with thiserror",
        "const generics",
    ],
    doings: &[
        "rewrote a Python script in Rust and it runs {n}x faster",
        "understood Pin at last",
        "fought the borrow checker for an hour and lost",
        "shipped my first crate to crates.io",
        "replaced {n} unwraps with proper errors",
        "made clippy happy with zero warnings",
        "deleted {n} lines of unsafe code",
        "spent the evening reading the Rustonomicon",
    ],
    details: &[
        "before my coffee got cold",
        "on a Friday afternoon, bold move",
        "and the tests passed first try",
        "with help from {m}",
        "during a very long compile",
        "while pairing with {m}",
    ],
    questions: &[
        "what's your favourite crate nobody talks about?",
        "tokio or async-std for a new service?",
        "how do you explain lifetimes to a beginner?",
        "anyhow or thiserror in a library?",
    ],
    hashtags: &["rust", "opensource", "100daysofcode"],
};

static GARDENING: Vocab = Vocab {
    things: &[
        "my tomato plants",
        "the raised beds",
        "the compost heap",
        "a single perfect zucchini",
        "the basil on the windowsill",
        "slug season",
        "seed catalogues in January",
        "the dahlias",
    ],
    doings: &[
        "planted {n} rows of garlic",
        "harvested the first strawberries",
        "lost a fight with the bindweed",
        "built a trellis out of old broom handles",
        "turned the compost",
        "repotted every single succulent",
        "saved seeds from last year's beans",
        "found a hedgehog under the shed",
    ],
    details: &[
        "in the pouring rain",
        "with muddy knees and no regrets",
        "before the frost hits",
        "while the neighbour's cat supervised",
        "on the allotment",
        "with jalapeño seedlings everywhere",
    ],
    questions: &[
        "how do you keep slugs off lettuce without chemicals?",
        "when do you start tomatoes indoors?",
        "raised beds or straight in the ground?",
        "what's the easiest vegetable for a total beginner?",
    ],
    hashtags: &["growyourown", "allotment", "plants"],
};

static JAZZ: Vocab = Vocab {
    things: &[
        "Kind of Blue",
        "the Thursday jam session",
        "a good walking bass line",
        "Coltrane's late records",
        "the trio at the basement club",
        "my secondhand saxophone",
        "modal jazz",
        "brushes on a snare",
    ],
    doings: &[
        "learned the head of Autumn Leaves",
        "sat in at the jam session",
        "transcribed a Bill Evans solo",
        "found a Blue Note pressing at a flea market",
        "practised ii-V-Is for {n}0 minutes straight",
        "heard a trio play Monk tunes",
        "stayed until the very last set",
    ],
    details: &[
        "at a tiny club in Montréal",
        "with {m} on drums",
        "and my neighbours were very patient",
        "until way past midnight",
        "on a rainy Sunday",
        "with a glass of something cheap",
    ],
    questions: &[
        "what's the best album for someone who thinks they hate jazz?",
        "how do you learn to comp without sounding stiff?",
        "any good live jazz spots in Kraków?",
        "Real Book or learn by ear?",
    ],
    hashtags: &["livemusic", "vinyl", "nowplaying"],
};

static STARTUPS: Vocab = Vocab {
    things: &[
        "our seed deck",
        "the pivot",
        "product-market fit",
        "our first paying customer",
        "the onboarding flow",
        "the churn dashboard",
        "founder burnout",
        "a two-person team",
    ],
    doings: &[
        "closed our first paying customer",
        "rewrote the pitch deck yet again",
        "shipped the MVP",
        "talked to {n} users this week",
        "killed a feature nobody used",
        "got our first angel cheque",
        "spent the whole day on cold emails",
        "hired our first engineer",
    ],
    details: &[
        "after eight months of building",
        "with a team of three",
        "from a café with bad Wi-Fi",
        "right before demo day",
        "while our CTO was on holiday",
        "on a budget of basically zero",
    ],
    questions: &[
        "how did you find your first ten customers?",
        "bootstrapping or raising, honestly?",
        "what's the one metric you actually watch?",
        "how do you price a B2B product with no competitors?",
    ],
    hashtags: &["buildinpublic", "founders", "saas"],
};

static CLIMATE: Vocab = Vocab {
    things: &[
        "the new heat records",
        "our community solar project",
        "heat pumps",
        "the local bike lanes",
        "the city's tree-planting plan",
        "the latest IPCC summary",
        "home insulation",
        "plant-based lunches",
    ],
    doings: &[
        "installed a heat pump",
        "switched to a green energy tariff",
        "biked to work {n} days in a row",
        "joined a local climate group",
        "read the entire IPCC summary",
        "helped plant {n}0 trees",
        "cut our household energy use by a third",
        "took the train instead of flying",
    ],
    details: &[
        "and the bill actually went down",
        "with neighbours from the whole street",
        "in a record-hot week",
        "despite the rain",
        "across half of Europe",
        "without much drama",
    ],
    questions: &[
        "what's the most effective thing one person can do?",
        "heat pump owners: any regrets?",
        "how do you talk about climate without doom?",
        "good climate newsletters that aren't depressing?",
    ],
    hashtags: &["climateaction", "renewables", "solar"],
};

static FOOTBALL: Vocab = Vocab {
    things: &[
        "the derby",
        "our back four",
        "VAR",
        "the new signing",
        "a 0-0 draw",
        "the transfer window",
        "Sunday league",
        "the away end",
    ],
    doings: &[
        "watched us lose in the 94th minute",
        "scored a header in Sunday league",
        "stood in the away end in the rain",
        "predicted the score correctly for once",
        "bought the new kit",
        "argued about offside for {n}0 minutes",
        "saw a last-minute winner",
    ],
    details: &[
        "with {m} and half the pub",
        "in freezing rain",
        "after a terrible first half",
        "at a packed stadium",
        "on a tiny pub TV",
        "until my voice gave up",
    ],
    questions: &[
        "who's the most underrated midfielder right now?",
        "is VAR making football better or worse?",
        "best away day you've ever had?",
        "how do you explain offside to a newcomer?",
    ],
    hashtags: &["matchday", "sundayleague", "coys"],
};

static BAKING: Vocab = Vocab {
    things: &[
        "my sourdough starter",
        "laminated dough",
        "the crème brûlée",
        "a burnt batch of cookies",
        "cardamom buns",
        "the oven thermometer",
        "focaccia",
        "brown butter",
    ],
    doings: &[
        "baked {n} loaves of sourdough",
        "got an open crumb at last",
        "made croissants from scratch",
        "burned the first batch of cookies",
        "fed my starter at midnight",
        "nailed the crème brûlée top",
        "tried a Swedish kanelbullar recipe",
        "over-proofed the focaccia again",
    ],
    details: &[
        "for a friend's birthday",
        "with flour literally everywhere",
        "using grandma's recipe",
        "in a very hot kitchen",
        "with way too much butter",
        "while {m} judged from the sofa",
    ],
    questions: &[
        "how do you get an ear on sourdough?",
        "what's your go-to recipe for a crowd?",
        "any tips for laminating in a warm kitchen?",
        "is a stand mixer worth it?",
    ],
    hashtags: &["sourdough", "homemade", "bakersofinstagram"],
};

static PHOTOGRAPHY: Vocab = Vocab {
    things: &[
        "golden hour",
        "my 35mm prime",
        "film photography",
        "the new camera body",
        "street photography",
        "shooting in RAW",
        "a foggy morning",
        "my editing backlog",
    ],
    doings: &[
        "shot a whole roll of Portra",
        "caught the blue hour over the harbour",
        "edited {n}0 photos in one sitting",
        "sold my first print",
        "went out with only a 50mm",
        "did a portrait session for a friend",
        "calibrated my monitor properly",
    ],
    details: &[
        "in the old town of Kraków",
        "with fog rolling in",
        "before the tourists showed up",
        "at f/1.8",
        "on a cheap secondhand body",
        "in harsh midday light",
    ],
    questions: &[
        "film or digital for learning composition?",
        "what's your favourite focal length and why?",
        "how do you back up your photos?",
        "Lightroom alternatives that don't need a subscription?",
    ],
    hashtags: &["filmisnotdead", "streetphotography", "goldenhour"],
};

static RUNNING: Vocab = Vocab {
    things: &[
        "my tempo runs",
        "the long run",
        "my new running shoes",
        "the Saturday parkrun",
        "marathon training",
        "hill repeats",
        "my watch's recovery score",
        "rest days",
    ],
    doings: &[
        "ran {n} km along the river",
        "set a new 5k PR",
        "signed up for a half marathon",
        "finished my first ultra",
        "did hill repeats until my legs quit",
        "ran in the rain and loved it",
        "skipped a rest day and regretted it",
    ],
    details: &[
        "at 6am before work",
        "with the running club",
        "in shorts in November",
        "at an easy conversational pace",
        "with {m} pacing me",
        "on fresh legs for once",
    ],
    questions: &[
        "how do you stay motivated in winter?",
        "carbon plates: worth it for amateurs?",
        "what's your go-to long run fuel?",
        "how many runs a week for a first half marathon?",
    ],
    hashtags: &["runchat", "parkrun", "marathontraining"],
};

static CATS: Vocab = Vocab {
    things: &[
        "my cat",
        "the new cat tree",
        "the 3am zoomies",
        "a cardboard box",
        "the annual vet visit",
        "my keyboard, according to the cat",
        "the cat's judgmental stare",
        "the laser pointer",
    ],
    doings: &[
        "got woken up at 4am by a cat sitting on my face",
        "bought a cat bed the cat ignores",
        "adopted a second cat",
        "watched my cat knock {n} things off the desk",
        "lost my seat on the sofa to the cat",
        "trimmed the cat's claws and survived",
    ],
    details: &[
        "with minimal injuries",
        "while working from home",
        "during an important video call",
        "for the third time this week",
        "and she looked very proud of herself",
    ],
    questions: &[
        "how do you stop a cat from scratching the sofa?",
        "best toys for an indoor cat?",
        "why do cats ignore expensive beds?",
        "one cat or two?",
    ],
    hashtags: &["catsoftwooter", "caturday", "catlife"],
};

static DATABASES: Vocab = Vocab {
    things: &[
        "the query planner",
        "our Postgres cluster",
        "a missing index",
        "the nightly migration",
        "connection pooling",
        "N+1 queries",
        "the replication lag graph",
        "EXPLAIN ANALYZE",
    ],
    doings: &[
        "got a query down from {n} seconds to 40 ms",
        "added a composite index",
        "ran a migration on {n} million rows",
        "found an N+1 query in production",
        "read the whole Postgres chapter on locking",
        "tuned the connection pool",
        "debugged a deadlock",
    ],
    details: &[
        "on a Friday afternoon",
        "with zero downtime",
        "and nothing caught fire",
        "while the pager stayed quiet",
        "with {m} watching the dashboards",
        "during peak traffic",
    ],
    questions: &[
        "Postgres or MySQL for a new project?",
        "how do you test migrations safely?",
        "ORM or raw SQL, honestly?",
        "what's your favourite indexing trick?",
    ],
    hashtags: &["postgres", "sql", "mysql"],
};

static TRAVEL: Vocab = Vocab {
    things: &[
        "night trains",
        "the cheap flight to Lisbon",
        "my carry-on bag",
        "the hostel in Reykjavík",
        "street food in São Paulo",
        "a twelve-hour layover",
        "travel insurance",
        "the airport lounge",
    ],
    doings: &[
        "took the night train from Vienna to Zürich",
        "packed for {n} days in one carry-on",
        "missed my connection in Frankfurt",
        "found the best pastel de nata in Lisbon",
        "got hopelessly lost in Kraków's old town",
        "learned ten words of Icelandic",
        "booked a last-minute trip to Malmö",
    ],
    details: &[
        "on a shoestring budget",
        "with a dying phone battery",
        "in the middle of a heatwave",
        "with {m} and zero plans",
        "after a very long layover",
        "and would do it again tomorrow",
    ],
    questions: &[
        "what's a city everyone should visit once?",
        "best carry-on backpack?",
        "how do you beat jet lag?",
        "trains or planes within Europe?",
    ],
    hashtags: &["wanderlust", "slowtravel", "traintravel"],
};

static CHESS: Vocab = Vocab {
    things: &[
        "the Sicilian",
        "my blitz rating",
        "the endgame",
        "a queen sacrifice",
        "the London System",
        "opening theory",
        "the club tournament",
        "bullet chess",
    ],
    doings: &[
        "won a game with a queen sacrifice",
        "hung my queen in {n} moves",
        "gained {n}0 rating points in blitz",
        "beat my dad for the first time",
        "played the club tournament",
        "studied rook endgames for an hour",
        "lost on time in a winning position",
    ],
    details: &[
        "at the club on Thursday night",
        "in a five-minute game",
        "against a much higher-rated player",
        "after a terrible opening",
        "before breakfast",
        "with {m} commentating",
    ],
    questions: &[
        "what opening should a beginner learn first?",
        "how do you stop blundering in time trouble?",
        "best chess books for club players?",
        "blitz or classical for improving?",
    ],
    hashtags: &["chesstwooter", "blitz", "chessclub"],
};

/// Tags with their own vocabulary; the rest fall back to [`GENERIC`] alone.
fn vocab_for(tag: &str) -> Option<&'static Vocab> {
    Some(match tag {
        "coffee" => &COFFEE,
        "hiking" => &HIKING,
        "rustlang" => &RUSTLANG,
        "gardening" => &GARDENING,
        "jazz" => &JAZZ,
        "startups" => &STARTUPS,
        "climate" => &CLIMATE,
        "football" => &FOOTBALL,
        "baking" => &BAKING,
        "photography" => &PHOTOGRAPHY,
        "running" => &RUNNING,
        "cats" => &CATS,
        "databases" => &DATABASES,
        "travel" => &TRAVEL,
        "chess" => &CHESS,
        _ => return None,
    })
}

/// People write "remote work", not "remote_work", in a sentence; the raw tag
/// is kept for hashtags.
fn topic_words(tag: &str) -> &str {
    match tag {
        "remote_work" => "remote work",
        "machine-learning" => "machine learning",
        "opensource" => "open source",
        "boardgames" => "board games",
        "webdev" => "web dev",
        other => other,
    }
}

const OPENERS: &[&str] = &[
    "Honestly, ",
    "Okay so ",
    "Not gonna lie, ",
    "Update: ",
    "Small win: ",
    "Confession: ",
    "So yeah, ",
    "Quick one: ",
    "Big news: ",
    "Plot twist: ",
    "Well, ",
    "PSA: ",
    "Today ",
];

const ADVERBS: &[&str] = &[
    "finally ",
    "just ",
    "accidentally ",
    "once again ",
    "proudly ",
    "somehow ",
    "shamelessly ",
];

/// Each pair wraps a thing. None of them conjugates a verb, because things
/// mix singular and plural ("my moka pot", "heat pumps").
const VERDICTS: &[(&str, &str)] = &[
    ("", ": underrated."),
    ("", ": worth every penny."),
    ("", ": harder than it looks."),
    ("", ": basically my therapy."),
    ("", ": quietly the best part of my week."),
    ("", " > everything else this week."),
    ("", ", and honestly that's enough for today."),
    ("Nothing beats ", "."),
    ("Can't stop thinking about ", "."),
    ("Shoutout to ", "."),
    ("Unpopular opinion: people sleep on ", "."),
    ("Still not over ", "."),
    ("Not me getting emotional about ", "."),
    ("I will defend ", " forever."),
    ("Can we talk about ", " for a second?"),
    ("Grateful for ", " today."),
    ("Nobody warned me about ", "."),
    ("My whole personality is ", " now."),
    ("Me vs ", ": round {n}."),
];

const CLOSERS: &[&str] = &[
    "10/10 would recommend.",
    "No notes.",
    "Send help.",
    "Worth it.",
    "Anyone else?",
    "🔥",
    "🙌",
    "😅",
    "Not sorry.",
    "Back at it tomorrow.",
    "What a time to be alive.",
    "lol",
    "👀",
    "Thoughts?",
    "Highly recommend.",
    "Tell me I'm not the only one.",
    "Je ne regrette rien.",
    "Feeling a bit naïve for not trying it sooner.",
    "Small joys ✨",
    "🎉🎉",
    "🚀",
    "💜",
    "🌱",
    "Danke schön, internet.",
    "Onwards.",
    "Anyway, how's your week going?",
];

/// Each pair wraps a thing: "@sam " + prefix + thing + suffix.
const MENTION_FRAMES: &[(&str, &str)] = &[
    ("have you tried ", "?"),
    ("you were right about ", "."),
    ("we need to talk about ", "."),
    ("thoughts on ", "?"),
    ("still thinking about ", " from last week."),
    ("remind me to tell you about ", "."),
    ("did you see what happened with ", "?"),
    ("this one's for you: ", " 😂"),
];

const QUESTION_INTROS: &[&str] = &[
    "Question for the {t} crowd: ",
    "Serious question: ",
    "Okay {t} people, ",
    "Asking for a friend: ",
    "Genuine question, ",
    "",
    "",
];

const SHORTS: &[&str] = &[
    "{t} season 🎉",
    "More {t}, fewer meetings.",
    "Can't stop thinking about {t}.",
    "Brb, {t}.",
    "{t} fixes everything.",
    "Me, every weekend: {t}.",
    "Normalize talking about {t} at dinner.",
    "Thinking about {t} again 👀",
    "{t} > sleep",
    "Nothing beats {t} on a Sunday.",
    "POV: you said you'd stop after one {t} video.",
    "Is it too early to talk about {t}? Asking anyway.",
    "{t} appreciation post 💜",
    "Good morning to everyone into {t} 🌅",
];

const STATS: &[&str] = &[
    "That's {n} hours of {t} this week.",
    "{n} browser tabs open, all about {t}.",
    "Spent {n}0 euros on {t} stuff this month.",
    "{n}0 people showed up to the {t} meetup at {p}!",
    "Week {n} of trying to get better at {t}.",
    "Read {n} articles about {t} on the train today.",
];

const STREAK_ACTIVITIES: &[&str] = &[
    "{t} every day",
    "my {t} challenge",
    "doing one {t} thing a day",
    "posting about {t}",
];

const PROGRESS: &[&str] = &[
    "still going strong",
    "slightly obsessed",
    "no regrets so far",
    "my family has questions",
    "tired but happy",
    "it's becoming a personality",
    "harder than expected",
    "honestly loving it",
    "{m} has joined in",
];

/// Quotes carry their own end punctuation so the frames can stay bare.
const QUOTES: &[&str] = &[
    "I'm not obsessed with {t}, I just think about it constantly.",
    "Is {t} a hobby or a lifestyle?",
    "You can't rush {t}.",
    "Wait, people do {t} for fun?",
    "My therapist says {t} counts as self-care.",
    "I only came for the snacks, but now I'm into {t}.",
    "Five more minutes of {t}, then bed. Promise!",
];

const QUOTE_FRAMES: &[(&str, &str)] = &[
    ("Overheard at {p}: \"", "\""),
    ("Overheard in {x}: “", "”"),
    ("Direct quote from {m}: \"", "\""),
];

const ESSENTIALS: &[&str] = &[
    "patience",
    "good snacks",
    "a notebook",
    "an early alarm",
    "a decent playlist",
    "lower expectations",
    "the right people",
    "a sense of humour",
    "{m}",
    "cheap coffee",
    "a free Saturday",
];

const HANDLES: &[&str] = &[
    "@sam",
    "@priya",
    "@jojo",
    "@alex_k",
    "@mateo",
    "@liwei",
    "@noor",
    "@dana_dev",
    "@kofi",
    "@ines",
    "@tomasz",
    "@yuki",
    "@ola",
    "@ben",
    "@marta",
    "@zoe",
];

const VENUES: &[&str] = &[
    "the café on 5th",
    "my balcony",
    "the office",
    "the library",
    "my parents' place",
    "the park",
    "the airport",
    "the pub",
    "the co-working space",
    "the farmers' market",
    "the bakery down the road",
    "the train station",
];

const CITIES: &[&str] = &[
    "Zürich",
    "Kraków",
    "São Paulo",
    "Malmö",
    "Reykjavík",
    "Montréal",
    "Lisbon",
    "Berlin",
    "Osaka",
    "Nairobi",
    "Toronto",
    "Melbourne",
];

fn pick<'a, R: Rng + ?Sized>(items: &[&'a str], rng: &mut R) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// Everything one call needs about its tag, resolved once up front.
struct Topic<'t> {
    tag: &'t str,
    words: &'t str,
    vocab: Option<&'static Vocab>,
}

impl<'t> Topic<'t> {
    fn new(tag: &'t str) -> Self {
        Topic {
            tag,
            words: topic_words(tag),
            vocab: vocab_for(tag),
        }
    }

    /// Tags with their own vocabulary still draw on the generic one now and
    /// then, so they don't sound like a fixed script.
    fn source<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static Vocab {
        match self.vocab {
            Some(v) if rng.gen_bool(0.75) => v,
            _ => &GENERIC,
        }
    }

    fn thing<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(self.source(rng).things, rng)
    }

    fn doing<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(self.source(rng).doings, rng)
    }

    fn detail<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(self.source(rng).details, rng)
    }

    fn question<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        pick(self.source(rng).questions, rng)
    }

    /// Expands the slots described on [`Vocab`] straight into `out`, so that
    /// a phrase costs no allocation of its own.
    fn fill<R: Rng + ?Sized>(&self, out: &mut String, phrase: &str, rng: &mut R) {
        let mut rest = phrase;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            match rest.get(i..i + 3) {
                Some("{t}") => out.push_str(self.words),
                Some("{m}") => out.push_str(pick(HANDLES, rng)),
                Some("{p}") => out.push_str(pick(VENUES, rng)),
                Some("{x}") => out.push_str(pick(CITIES, rng)),
                Some("{n}") => push_number(out, rng.gen_range(2..=12)),
                Some("{c}") => push_clock(out, rng),
                _ => {
                    out.push('{');
                    rest = &rest[i + 1..];
                    continue;
                }
            }
            rest = &rest[i + 3..];
        }
        out.push_str(rest);
    }

    /// Like [`Topic::fill`], but starts a sentence: topics and things are
    /// stored lowercase so they also fit mid-sentence.
    fn fill_sentence<R: Rng + ?Sized>(&self, out: &mut String, phrase: &str, rng: &mut R) {
        let start = out.len();
        self.fill(out, phrase, rng);
        if let Some(first) = out.get_mut(start..start + 1) {
            first.make_ascii_uppercase();
        }
    }

    fn story<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R, with_opener: bool) {
        if with_opener && rng.gen_bool(0.5) {
            out.push_str(pick(OPENERS, rng));
        }
        out.push_str("I ");
        if rng.gen_bool(0.4) {
            out.push_str(pick(ADVERBS, rng));
        }
        let doing = self.doing(rng);
        self.fill(out, doing, rng);
        if rng.gen_bool(0.7) {
            out.push(' ');
            let detail = self.detail(rng);
            self.fill(out, detail, rng);
        }
        out.push('.');
    }

    fn verdict<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        let (prefix, suffix) = VERDICTS[rng.gen_range(0..VERDICTS.len())];
        let thing = self.thing(rng);
        if prefix.is_empty() {
            self.fill_sentence(out, thing, rng);
        } else {
            out.push_str(prefix);
            self.fill(out, thing, rng);
        }
        self.fill(out, suffix, rng);
    }

    fn ask<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        let intro = pick(QUESTION_INTROS, rng);
        self.fill(out, intro, rng);
        let question = self.question(rng);
        if intro.is_empty() {
            self.fill_sentence(out, question, rng);
        } else {
            self.fill(out, question, rng);
        }
    }

    fn mention<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str(pick(HANDLES, rng));
        out.push(' ');
        let (prefix, suffix) = MENTION_FRAMES[rng.gen_range(0..MENTION_FRAMES.len())];
        out.push_str(prefix);
        let thing = self.thing(rng);
        self.fill(out, thing, rng);
        out.push_str(suffix);
    }

    fn streak<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str("Day ");
        push_number(out, rng.gen_range(2..=365));
        out.push_str(" of ");
        self.fill(out, pick(STREAK_ACTIVITIES, rng), rng);
        out.push_str(": ");
        self.fill(out, pick(PROGRESS, rng), rng);
        out.push('.');
    }

    fn early_start<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str("Woke up at ");
        push_clock(out, rng);
        out.push_str(" and ");
        let doing = self.doing(rng);
        self.fill(out, doing, rng);
        out.push('.');
    }

    fn quote<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        let (open, close) = QUOTE_FRAMES[rng.gen_range(0..QUOTE_FRAMES.len())];
        self.fill(out, open, rng);
        self.fill(out, pick(QUOTES, rng), rng);
        out.push_str(close);
    }

    fn essentials<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str("Underrated ");
        out.push_str(self.words);
        out.push_str(" essentials: ");
        // Three distinct items: a repeated one reads like a bug, not a person.
        let len = ESSENTIALS.len();
        let a = rng.gen_range(0..len);
        let b = (a + rng.gen_range(1..len)) % len;
        let mut c = rng.gen_range(0..len);
        while c == a || c == b {
            c = (c + 1) % len;
        }
        self.fill(out, ESSENTIALS[a], rng);
        out.push_str(", ");
        self.fill(out, ESSENTIALS[b], rng);
        out.push_str(" and ");
        self.fill(out, ESSENTIALS[c], rng);
        out.push('.');
    }

    fn hashtags<R: Rng + ?Sized>(&self, out: &mut String, rng: &mut R) {
        out.push_str(" #");
        out.push_str(self.tag);
        if rng.gen_bool(0.5) {
            out.push_str(" #");
            out.push_str(pick(self.source(rng).hashtags, rng));
        }
    }
}

fn push_number(out: &mut String, n: u32) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{n}");
}

fn push_clock<R: Rng + ?Sized>(out: &mut String, rng: &mut R) {
    let hour: u32 = rng.gen_range(4..=7);
    let minute: u32 = rng.gen_range(0..12) * 5;
    let _ = write!(out, "{hour}:{minute:02}am");
}

/// Writes a realistic twoot about `tag` (one of TAGS) into a new String.
pub fn message_text<R: rand::Rng + ?Sized>(rng: &mut R, tag: &str) -> String {
    let topic = Topic::new(tag);
    let mut out = String::with_capacity(256);

    // Weighted so that plain first-person updates dominate, as in a real feed.
    match rng.gen_range(0..20u8) {
        0..=5 => topic.story(&mut out, rng, true),
        6..=8 => topic.verdict(&mut out, rng),
        9..=10 => topic.ask(&mut out, rng),
        11..=12 => topic.mention(&mut out, rng),
        13 => topic.streak(&mut out, rng),
        14 => topic.early_start(&mut out, rng),
        15 => topic.quote(&mut out, rng),
        16 => topic.essentials(&mut out, rng),
        17 => topic.fill_sentence(&mut out, pick(STATS, rng), rng),
        _ => {
            topic.fill_sentence(&mut out, pick(SHORTS, rng), rng);
            // Real feeds are full of one-liners; most of these stay bare.
            if rng.gen_bool(0.6) {
                return out;
            }
        }
    }

    // Follow-up sentences give the long tail of the length distribution.
    let mut follow_ups = 0;
    while follow_ups < 2 && rng.gen_bool(0.35) {
        out.push(' ');
        if rng.gen_bool(0.5) {
            topic.story(&mut out, rng, false);
        } else {
            topic.verdict(&mut out, rng);
        }
        follow_ups += 1;
    }
    if rng.gen_bool(0.45) {
        out.push(' ');
        out.push_str(pick(CLOSERS, rng));
    }
    if rng.gen_bool(0.2) {
        topic.hashtags(&mut out, rng);
    }

    clamp(&mut out);
    out
}

/// Cuts `text` to at most [`MAX_CHARS`] characters at a word boundary,
/// marking the cut with an ellipsis.
fn clamp(text: &mut String) {
    // Every char takes at least one byte, so short byte lengths need no count.
    if text.len() <= MAX_CHARS {
        return;
    }
    let mut starts = text.char_indices().map(|(i, _)| i);
    // Keep MAX_CHARS - 1 chars to leave room for the ellipsis.
    let Some(cut) = starts.nth(MAX_CHARS - 1) else {
        return;
    };
    if starts.next().is_none() {
        return;
    }
    let keep = if text[cut..].starts_with(' ') {
        cut
    } else {
        text[..cut].rfind(' ').unwrap_or(cut)
    };
    text.truncate(keep);
    let end = text
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '-'))
        .len();
    text.truncate(end);
    text.push('…');
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    use super::*;

    fn sample(seed: u64, count: usize) -> Vec<String> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..count)
            .map(|i| message_text(&mut rng, TAGS[i % TAGS.len()]))
            .collect()
    }

    #[test]
    fn tags_are_fifty_valid_distinct_names() {
        assert_eq!(TAGS.len(), 50);
        let distinct: HashSet<_> = TAGS.iter().collect();
        assert_eq!(distinct.len(), TAGS.len(), "duplicate tag");
        for tag in TAGS {
            assert!((1..=64).contains(&tag.len()), "bad length: {tag:?}");
            assert!(
                tag.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'_'
                    || b == b'-'),
                "bad characters: {tag:?}"
            );
        }
    }

    #[test]
    fn texts_are_well_formed() {
        for text in sample(7, 20_000) {
            let chars = text.chars().count();
            assert!((1..=MAX_CHARS).contains(&chars), "{chars} chars: {text:?}");
            assert_eq!(text.trim(), text, "untrimmed: {text:?}");
            assert!(!text.trim().is_empty(), "blank: {text:?}");
            assert!(!text.chars().any(char::is_control), "control: {text:?}");
            assert!(!text.contains('{'), "unfilled slot: {text:?}");
            assert!(!text.contains("  "), "double space: {text:?}");
        }
    }

    #[test]
    fn same_seed_gives_same_sequence() {
        assert_eq!(sample(42, 500), sample(42, 500));
        assert_ne!(sample(42, 500), sample(43, 500));
    }

    #[test]
    fn texts_are_varied() {
        let texts = sample(1, 20_000);
        let distinct: HashSet<_> = texts.iter().collect();
        assert!(distinct.len() >= 5_000, "only {} distinct", distinct.len());

        let lengths: Vec<usize> = texts.iter().map(|t| t.chars().count()).collect();
        assert!(lengths.iter().any(|&n| n <= 30), "no short texts");
        assert!(lengths.iter().any(|&n| n >= 200), "no long texts");
        // Emoji are outside the BMP and take four bytes in UTF-8.
        assert!(texts.iter().any(|t| t.chars().any(|c| c.len_utf8() == 4)));
        assert!(texts
            .iter()
            .any(|t| t.chars().any(|c| c.is_alphabetic() && !c.is_ascii())));
    }

    #[test]
    fn every_tag_gets_text_mentioning_its_topic() {
        let mut rng = SmallRng::seed_from_u64(3);
        for tag in TAGS {
            let words = topic_words(tag);
            let hit = (0..200).any(|_| message_text(&mut rng, tag).contains(words));
            assert!(hit, "{tag} never mentioned");
        }
    }

    #[test]
    fn clamp_cuts_on_a_word_boundary() {
        let mut text = "naïve café ".repeat(40).trim_end().to_owned();
        clamp(&mut text);
        assert!(text.chars().count() <= MAX_CHARS);
        assert!(
            text.ends_with("café…") || text.ends_with("naïve…"),
            "{text:?}"
        );

        let mut exact = "é".repeat(MAX_CHARS);
        clamp(&mut exact);
        assert_eq!(exact.chars().count(), MAX_CHARS);

        let mut unbroken = "x".repeat(MAX_CHARS + 10);
        clamp(&mut unbroken);
        assert_eq!(unbroken.chars().count(), MAX_CHARS);
    }
}
