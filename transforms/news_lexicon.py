"""Hand-written valences (VADER's -4..4 scale) for news and live-commerce words VADER lacks, and
the few context rules the extended analyzer applies to VADER's own lexicon.

Why: VADER was built for social media, so words that carry the tone of news and of marketplace
complaints ("counterfeit", "layoffs", "recession", "delays", "breakthrough") are missing and score
0. These were written from general knowledge, not fitted to any rated data; only words absent from
VADER's own (human-rated) lexicon are listed, so VADER's ratings are never overridden.
"""

NEWS_LEXICON: dict[str, float] = {
    "deaths": -2.5,
    "dies": -2.2,
    "dying": -2.3,
    "bombing": -3.0,
    "disease": -2.0,
    "diseases": -2.0,
    "epidemic": -2.3,
    "pandemic": -2.3,
    "starvation": -2.8,
    "homeless": -1.8,
    "homelessness": -1.8,
    "unemployed": -1.8,
    "deficits": -1.2,
    "inflation": -1.0,
    "layoffs": -2.0,
    "bankruptcy": -2.2,
    "crises": -2.3,
    "corruption": -2.7,
    "corrupt": -2.7,
    "bribery": -2.6,
    "discrimination": -2.2,
    "jail": -1.5,
    "crimes": -2.2,
    "scammer": -2.6,
    "scammers": -2.6,
    "counterfeit": -2.0,
    "decline": -1.2,
    "declined": -1.0,
    "declining": -1.2,
    "plunge": -1.8,
    "plunged": -1.8,
    "slump": -1.6,
    "injuries": -2.0,
    "refugees": -1.0,
    "pollution": -1.8,
    "toxic": -2.2,
    "wasteful": -1.8,
    "disgraceful": -2.8,
    "absurd": -1.8,
    "misguided": -1.8,
    "overdue": -0.8,
    "delays": -1.2,
    "late": -0.6,
    "refund": -0.6,
    "prosperity": 2.5,
    "recovery": 1.5,
    "breakthrough": 2.2,
    "reform": 0.8,
    "reforms": 0.8,
    "cure": 2.0,
    "thriving": 2.3,
    "thrive": 2.0,
    "boom": 1.2,
    "booming": 1.5,
    "surge": 0.8,
    "soared": 1.0,
    "record": 0.6,
    "milestone": 1.4,
    "achievement": 2.0,
    "achievements": 2.0,
    "celebration": 2.2,
    "democracy": 1.2,
    "affordable": 1.2,
    "deals": 0.6,
    # Live-commerce vocabulary (marketplace complaints and praise) absent from VADER, written from
    # general knowledge of seller/buyer forums, added 2026-11-30 (issue 11).
    "overcharged": -2.0,
    "shill": -1.5,
    "shilled": -1.8,
    "shilling": -1.8,
    "knockoff": -2.0,
    "knockoffs": -2.0,
    "counterfeits": -2.0,
    "resealed": -1.2,
    "ripoff": -2.5,
    "rip-off": -2.5,
    "scammed": -2.6,
    "scammy": -2.2,
    "sketchy": -1.5,
    "shady": -1.8,
    "bogus": -1.8,
    "junk": -1.5,
    "garbage": -2.0,
    "trash": -1.8,
    "unresponsive": -1.8,
    "unpaid": -1.5,
    "overpriced": -1.6,
    "deactivated": -1.3,
    "withheld": -1.2,
    "chargeback": -1.2,
    "smooth": 1.3,
    "smoothly": 1.3,
    "seamless": 1.8,
    "legit": 1.5,
    "authentic": 1.0,
    "genuine": 1.2,
    "speedy": 1.3,
    "promptly": 1.2,
    "pristine": 1.8,
    "reliable": 1.5,
    # Added 2026-12-01 from a new hand-written tune batch of live-commerce sentences (batch f,
    # tests/fixtures/sentiment_live_commerce_tune.tsv); the acceptance set was not looked at.
    "dupes": -1.2,
    "bootleg": -1.5,
    "shadowbanned": -2.0,
    "ghosted": -1.8,
    "crashes": -1.5,
    "crashed": -1.5,
    "crashing": -1.5,
    "creased": -1.0,
    "dented": -1.0,
    "frozen": -0.8,
    "reinstated": 1.5,
    "refunded": 1.0,
    "fastest": 1.2,
    "quick": 1.0,
    "quicker": 1.0,
    "wholesome": 1.8,
    # Added 2026-12-01 (session 7) from the tune half of a live-commerce probe written by a helper
    # who never saw these rules (80 rows; its other 80 rows are held out).
    "convenient": 1.3,
    "hyped": 1.2,
    "knowledgeable": 1.5,
    "props": 1.2,
    "replicas": -1.5,  # not "replica": a museum's replica of a ship is no fake
}

# Words VADER's lexicon rates as valenced that, in forum and live-commerce writing, are mostly
# discourse markers: "Honestly Whatnot support is terrible" is a complaint, but VADER adds +2.0 for
# "honestly". The extended analyzer drops them from its lexicon (plain VADER, the anchor, keeps them).
DISCOURSE_MARKERS: tuple[str, ...] = ("honestly", "seriously")

# "support" (VADER +1.7, as in "I support the plan") is, as a noun, usually the name of a service
# desk on marketplaces: "customer support is terrible", "support ignores me", "contacted support".
# The extended analyzer scores it as a neutral word unless the word before it makes it a verb
# (a subject pronoun, "to", a modal, an adverb or a negation: "we fully support", "I don't support").
SUPPORT_VERB_CONTEXT: frozenset[str] = frozenset({
    "i", "we", "you", "they", "he", "she", "it", "who", "that", "fully", "strongly", "also", "always",
    "still", "to", "will", "would", "can", "could", "should", "must", "may", "might", "not", "never",
    "don't", "doesn't", "didn't", "won't", "wouldn't", "can't", "cannot", "please",
})

# Idioms where a negation cancels a negative word, so the phrase praises ("no issues at all", "no
# questions asked", "nothing but good experiences", "can't complain"): VADER scores "no" (-1.2) and
# "problems" (-1.7) or negates the "good" after "nothing". The extended analyzer rewrites each to a
# word of the intended tone before scoring (VADER itself keeps a similar list of sentiment-laden
# idioms). Patterns are case-insensitive; replacements are VADER words ("fine" +0.8, "easily" +1.4).
# A stated span of time, for the waiting rewrites below: "ten days", "over two weeks", "a month".
_SPAN_OF_TIME = (r"(?:(?:over|more\s+than|almost|nearly|about)\s+)?"
                 r"(?:(?:\d+|a\s+few|several|a\s+couple\s+of|two|three|four|five|six|seven|eight|nine|ten|"
                 r"eleven|twelve|\w+teen|twenty)\s+(?:days|weeks|months)|(?:a|an|one)\s+(?:week|month))\b")

IDIOM_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\b(?:no|zero|without(?:\s+any)?)\s+(?:issues?|problems?|complaints?|worries|"
     r"regrets|hassles?|drama|trouble|hoops|hiccups?)\b", "fine"),
    # "Not a single hiccup with my orders" praises; "not a single issue I reported was resolved" does not.
    (r"\bnot\s+(?:a\s+)?single\s+(?:issue|problem|complaint|hiccup)s?\b"
     r"(?!\s+(?:i|we|you|they|he|she|that|which|who|was|were|has|had|got|is)\b)", "fine"),
    (r"\bno\s+questions\s+asked\b", "easily"),
    (r"\bnothing\s+but\b", "only"),
    (r"\b(?:can't|cannot|can\s+not|couldn't)\s+complain\b", "fine"),
    # Added 2026-12-01 from tune batch f (see NEWS_LEXICON): marketplace phrases whose words alone
    # score neutral or the wrong way ("lower" is -1.2 in VADER; "made it right" has no valence).
    (r"\b(?:can't|cannot|can\s+not)\s+say\s+enough\s+(?:good|great|nice|positive)\s+things\b", "love"),
    (r"\bnever\s+(?:had|have\s+had|got)\s+(?:a|an|any|one)\s+(?:single\s+)?(?:issue|problem|complaint)s?\b",
     "fine"),
    (r"\bcash\s+grabs?\b", "ripoff"),
    (r"\b(?:charged|billed)\s+(?:me\s+)?(?:twice|double)\b|\bdouble[-\s]charged\b", "overcharged"),
    # Only money held back: "put items on hold until payday" is a neutral selling practice.
    (r"\b((?:payouts?|funds|money|earnings|settlements?|balance|withdrawals?|account)\b[^.!?]{0,40}?)"
     r"\bon\s+hold\b", r"\1withheld"),
    # Only waiting on something owed: "still waiting for the drop tonight, so excited" is not a complaint.
    (r"\bstill\s+waiting(?=\s+(?:for|on)\s+(?:(?:my|the|a|an|our|their|any)\s+)?(?:\w+\s+)?"
     r"(?:refunds?|orders?|payouts?|packages?|parcels?|money|funds|payments?|reply|replies|response|answer|"
     r"items?|delivery|shipment|tracking)\b)", "delays"),
    (r"\b(?:made|make|makes|making)\s+(?:it|things)\s+right\b", "resolved"),
    (r"\bsorted\s+(?:it\s+|this\s+|everything\s+)?out\b", "resolved"),
    # "Quick question about shipping" asks; "quick" (added above) would make it praise.
    (r"\bquick\s+(questions?|q)\b", r"\1"),
    # Added 2026-12-01 (session 6) from the errors of tune batches c, d and f only (batches e, g and h
    # are held out): complaints and praise that carry no sentiment word of their own. Narrowed after a
    # review's counterexamples (tests/test_transforms_sentiment_model.py). Every optional piece ends
    # in its own whitespace, so no two quantifiers can split one run of spaces (a 5,000-space input
    # took seconds before; now it is linear).
    # Nobody answering is neglect ("nobody from support answered", "no one cares"); a comparison
    # ("no one responds faster than", "nobody else answers as quickly as") is praise.
    (r"\b(?:nobody|no\s+one)\b(?:\s+\w+){0,3}?\s+(?:answered|answers|replied|replies|responded|responds|"
     r"cares|helped|helps|contacted|got\s+back)\b(?!(?:\s+\w+){0,2}?\s+(?:than|as|better)\b)", "ignored"),
    # Costs eating the margin ("the commission eats almost all of my margin", "eating into my margins").
    (r"\b(?:eats?|eating|ate|eaten)\s+(?:(?:up|into)\s+)?(?:(?:almost|nearly)\s+)?(?:(?:all|most|half)\s+)?"
     r"(?:of\s+)?(?:my|our|your|the|their)\s+(?:profits?|margins?|earnings|revenue)\b", "losses"),
    # A shipment or payout stuck in one status for a stated time ("tracking has said label created for
    # ten days", "pending for over two weeks"); "processing orders for three weeks" is work, not a wait.
    (r"\b(?:label\s+created|(?:in|under)\s+review|pending|in\s+transit|"
     r"processing(?!\s+(?:orders?|fees?|payments?|refunds?|returns?|times?)\b))\b[^.!?]{0,30}?\bfor\s+"
     + _SPAN_OF_TIME, "delays"),
    # Waiting a stated time for what one is owed ("now I wait two weeks for my money", "waited a month
    # for my payout").
    (r"\bwait(?:ed|ing|s)?\s+" + _SPAN_OF_TIME + r"\s+(?:for|on)\s+(?:my|our|the|a|an)\s+"
     r"(?:money|payouts?|refunds?|orders?|packages?|parcels?|funds|payments?)\b", "delays"),
    # A price over the market ("the prices are way above market"); "sold it well above market" is a
    # seller's good news, so a price word must come first.
    (r"\b(?:prices?|priced|pricing|costs?|charging|charges?|asking)\b[^.!?]{0,25}?\b(?:(?:way|well|far|much)\s+)?"
     r"above\s+(?:market|retail|msrp)\b", "overpriced"),
    # A printed autograph is a fake one ("the autograph was printed", "a printed signature"); "the
    # signature scent is printed on the box" and "the autograph was not printed" are not.
    (r"\b(?:autograph|signature)(?:\s+on\s+(?:the|my|this|that|it)\s+\w+)?\s+(?:is|was|were|looks|looked|"
     r"turned\s+out)\b(?:(?!\bnot\b|n't\b|\bnever\b)[^.!?]){0,20}?\bprinted\b|"
     r"\bprinted\s+(?:autograph|signature)s?\b", "fake"),
    # Removing bad actors protects buyers ("glad they banned that scammer", "ban the bots from chat");
    # "I got banned as a bot" and "my account was blocked by spammers" are left alone.
    (r"\b(?:ban(?:ned|s|ning)?|kicked\s+out|removed|blocked)\s+(?:(?:the|that|those|these|a|all\s+the)\s+)?"
     r"(?:(?!(?:by|for|as|from|because)\b)\w+\s+)?(?:scammers?|bots|spammers?|shills?|shill\s+bidders?|trolls?)\b",
     "protected"),
    # Fan talk: "I'm obsessed with the jewelry" praises (VADER's "obsessed" is -0.7); "why is this app
    # obsessed with ads" and "not obsessed with the layout" do not.
    (r"\b(?:i'm|i\s+am|im|we're|we\s+are|so|literally|totally|honestly|absolutely)\s+obsessed\s+with\b",
     "love"),
    # Added 2026-12-01 (session 7) from the tune half of the helper-written probe (see NEWS_LEXICON).
    # "Couldn't be happier" praises; VADER negates "happier".
    (r"\b(?:couldn't|could\s+not|couldnt|can't|cannot)\s+be\s+(?:any\s+)?(?:happier|better|more\s+"
     r"(?:pleased|satisfied|thrilled|impressed))\b", "delighted"),
    # Slang: "that break was so fire" (VADER's "fire" is -1.4), "massive L", "huge W". "fire" only
    # after an intensifier ("the cause was fire" and "fire season" are news); W and L only in
    # capitals, and not in "W-2" or "L.A.".
    (r"\b(?:so|straight|absolute|pure|lowkey|kinda|literally|actually|honestly)\s+fire\b(?![-\w])", "great"),
    # Not "take the L" (Chicago's train) nor "Big W" (a retailer).
    (r"\b(?:massive|huge|major|another|such\s+an?)\s+(?-i:L)(?![-.\w'])", "failure"),
    (r"\b(?:massive|huge|major|another|such\s+an?|easy)\s+(?-i:W)(?![-.\w'])", "win"),
    # Business news: beating or missing what analysts expected.
    (r"\bbeat(?:ing|s)?\s+(?:(?:analyst|analysts'?|wall\s+street|market|the|its|their|our)\s+)*"
     r"(?:expectations|estimates|forecasts|forecast(?=\s*(?:[.,;!?]|$)))", "success"),
    (r"\b(?:miss(?:ed|es|ing)?|fell\s+short\s+of|falls?\s+short\s+of)\s+(?:(?:analyst|analysts'?|wall\s+street|"
     r"market|the|its|their|our)\s+)*(?:expectations|estimates|forecasts|forecast(?=\s*(?:[.,;!?]|$)))",
     "disappointing"),
    # A problem put right fast ("refunded me before the end of the day", "sent a replacement the same
    # day", "reversed the charge within an hour"): only after a word of putting something right.
    (r"\b((?:refund(?:ed)?|replac(?:ed|ement)|reversed|resolved|sorted|fixed|reinstated|credited)\b"
     r"(?:[^.!?]{0,30}?\s)?)(?:within\s+(?:an?|one|a\s+few|"
     r"\d+|two|ten|twenty|thirty)\s+(?:hours?|minutes?|mins?)|the\s+same\s+(?:day|afternoon|morning|evening)|"
     r"before\s+(?:i\s+(?:even\s+)?(?:complained|asked|noticed|messaged|reached\s+out)|the\s+end\s+of\s+the\s+day))\b",
     r"\1promptly"),
    # The platform taking one's side in a dispute.
    (r"\bsided\s+with\s+(?:me|us|the\s+seller|the\s+buyer|my\s+\w+)\b", "protected"),
    # Money held back ("they held my funds for a month", "froze my account").
    (r"\b(?:held|froze|frozen|freezing|locked)\s+(?:up\s+)?(?:my|our|their|your)\s+"
     r"(?:funds|money|payouts?|earnings|balance|account)\b", "withheld"),
    # Nobody answering ("the seller hasn't answered two messages"); "hasn't answered yet, it's only
    # been an hour" stays a (mild) complaint too, which is how a listening report reads it.
    (r"\b(?:(?:hasn't|has\s+not|haven't|have\s+not|never)\s+(?:even\s+)?(?:answered|replied|responded|"
     r"gotten\s+back|got\s+back)|(?:didn't|did\s+not|won't|will\s+not|doesn't|does\s+not|don't|do\s+not)\s+"
     r"(?:even\s+)?(?:answer|reply|respond|get\s+back))\b", "ignored"),
    # Still not received what one is owed ("I still haven't seen the refund").
    (r"\bstill\s+(?:haven't|have\s+not|hasn't|has\s+not|didn't|did\s+not|don't|do\s+not)\s+(?:seen|see|received|"
     r"receive|gotten|got|get)\s+(?:my|the|a|any|our)\s+(?:\w+\s+)?(?:refunds?|money|payouts?|packages?|parcels?|orders?|"
     r"items?|payments?)\b", "delays"),
    # Money lost ("so I'm still out nine dollars", "we're out $40").
    (r"\b(?:i'm|i\s+am|im|we're|we\s+are|i\s+was|still)\s+(?:still\s+)?out\s+(?:\$\s?\d[\d,.]*|"
     r"(?:\d[\d,.]*|[a-z]+(?:[\s-][a-z]+)?)\s+(?:dollars|bucks|euros|pounds|quid))", "lost"),
    # A shipment stuck in a status ("tracking still shows label created").
    (r"\bstill\s+(?:shows?|says|said|showing|reads|stuck\s+(?:on|at|in))\s+(?:as\s+)?[\"'\u201c]?(?:label\s+created|"
     r"pending|processing|in\s+transit|awaiting\s+\w+|not\s+shipped|pre-?transit)\b", "delays"),
)

# Rewrites that hold only outside a wish or a condition: lower fees praise a platform, but "if the
# fees were lower" or "I wish prices were cheaper" does not. The extended analyzer applies one only
# when its phrase is found and the text has no CONDITION_WORDS (they were once anchored patterns
# with a look-ahead over the whole sentence: vader_input went from 246 to 146 us on a 200-character
# sentence when they moved here). Every occurrence is rewritten.
CONDITION_WORDS = r"\b(?:if|wish|would|should|could|unless|need|needs)\b"
OUTSIDE_CONDITION_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\b(?:fees?|prices?|commissions?|costs?)\s+(?:are|is)\s+(?:much\s+|way\s+|a\s+lot\s+)?"
     r"(?:lower|cheaper)\b", "affordable"),
    (r"\b(?:lower|cheaper)\s+(?:fees?|prices?|commissions?|costs?)\b", "affordable"),
    # Fees waived ("Whatnot waived seller fees on my first $1,000"), not "if they waived the fees".
    # Only marketplace fees: "the judge waived the fee" is not a platform's price.
    (r"\bwaiv(?:ed|es|ing|e)\s+(?:(?:the|all|my|our|their|its)\s+)?(?:(?:seller|selling|buyer|listing|shipping|"
     r"transaction|processing|platform|payment)\s+fees?|commissions?)\b", "affordable"),
)
