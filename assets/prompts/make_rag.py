#!/usr/bin/env python3
"""Writes rag.jsonl: the built-in `rag` prompt set of llmrace.

Each prompt is a long "retrieved context" (several documents about an invented organisation)
followed by a question whose answer is planted in one of the documents, about 4096 tokens in
all. Every sentence is composed here from original templates and invented names, so the set
is free of third-party text. The output is deterministic (our own PRNG, no `random`), so
re-running the script reproduces the committed file byte for byte:

    python3 assets/prompts/make_rag.py > assets/prompts/rag.jsonl
"""

import json
import sys

# About 4.7 bytes per token for this prose (o200k and cl100k tokenizers): 4096 tokens is
# roughly 19 KB.
TARGET_BYTES = 19_000

SYSTEM = (
    "You answer questions using only the retrieved documents given in the user message. "
    "Cite the documents you rely on by number, like [3]. If the documents do not contain the "
    "answer, say so plainly instead of guessing, and point out when two documents disagree."
)


class Rng:
    """xorshift64*: tiny, deterministic across Python versions and platforms."""

    def __init__(self, seed):
        self.state = (seed * 0x9E3779B97F4A7C15 + 1) & 0xFFFFFFFFFFFFFFFF

    def next(self):
        x = self.state
        x ^= (x >> 12)
        x ^= (x << 25) & 0xFFFFFFFFFFFFFFFF
        x ^= (x >> 27)
        self.state = x
        return (x * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF

    def below(self, n):
        return self.next() % n

    def pick(self, items):
        return items[self.below(len(items))]

    def between(self, low, high):
        return low + self.below(high - low + 1)


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

FIRST = ["Amira", "Bastian", "Carolina", "Dmitri", "Elif", "Folake", "Gustavo", "Hanne",
         "Ilkka", "Jovana", "Kenji", "Leonor", "Mateus", "Nadia", "Oskar", "Priya", "Quentin",
         "Rosalind", "Sefa", "Tomasz", "Ulrike", "Viggo", "Wanjiru", "Xiadani", "Yusuf", "Zofia"]
LAST = ["Abernathy", "Brennholt", "Castellano", "Dufresne", "Ekwueme", "Falkenrath",
        "Gravholm", "Haverkamp", "Ishikawa", "Jaramillo", "Kowalczyk", "Lindqvist", "Morrow",
        "Nakashima", "Oyelaran", "Pellegrini", "Quarshie", "Rautenbach", "Sandoval", "Thorsby",
        "Underhill", "Vasquez", "Whitcombe", "Yilmaz", "Zaragoza"]

# Sentence templates shared by every domain; {slots} are filled from the domain's vocabulary.
SENTENCES = [
    "The {org} reported that {metric} in {place} rose by {pct} percent between {year} and {year2}, "
    "mostly because of {cause}.", "{person}, who leads the {team} team, said that {claim}.",
    "According to the {doc_kind} published in {month} {year}, {object} must be {requirement} "
    "before {deadline}.",
    "A pilot in {place} tested {object} with {n} {participants}, and {outcome}.",
    "During the review, members raised concerns about {concern}, and the group agreed to {decision}.",
    "Costs for {object} are estimated at {money} per year, of which {pct} percent is covered by {funder}.",
    "The procedure has three steps: first {step}, then {step2}, and finally {step3}.",
    "Exceptions are possible when {condition}, but they must be approved by the {role}.",
    "In {place}, {metric} fell to its lowest level since {year}, which staff attribute to {cause}.",
    "The {team} team now checks {object} every {interval}, instead of waiting for complaints.",
    "Not everyone agreed: {person} argued that {claim}, while others preferred to {decision}.",
    "A survey of {n} {participants} found that {pct} percent were satisfied, although many mentioned {concern}.",
    "The {doc_kind} also notes that {object} in {place} should be {requirement} when {condition}.",
    "Since {month} {year}, requests about {object} go to the {team} team rather than to the {role}.",
    "The budget line for {object} was raised to {money} after {outcome2}.",
    "{person} summarised the situation by saying that {claim}.",
    "Staff in {place} keep a written log of {object}, which is reviewed by the {role} every {interval}.",
    "When {condition}, the {team} team is expected to {step} and to inform the {role} within {interval}.",
    "The {org} does not track {metric} for {place} separately, so the figures there are estimates.",
    "An earlier plan to {decision} was dropped in {year} because of {concern}.",
    "Compared with {place2}, {place} spends about {pct} percent more on {object}, largely because of {cause}.",
    "The next review of {object} is planned for {month} {year2}, when the {role} will report on {metric}.",
]

TITLES = [
    "Annual review of {object} in {place}", "Minutes: {team} team meeting, {month} {year}",
    "{doc_kind_cap} on {object}", "Questions and answers about {object}",
    "Lessons from the {place} pilot", "Budget notes for {year2}: {object}",
    "Procedure for {object} when {condition}", "Interview with {person}, {team} team",
    "Comparing {place} and {place2}", "Summary of feedback from {participants}",
]

DOMAINS = [
    {
        "org": "Harrowgate Water Authority",
        "place": ["the Eastbank district", "Millbrook", "the old harbour quarter", "Saltmarsh Road",
                  "Kestrel Hill", "the northern estates"],
        "team": ["network maintenance", "water quality", "customer care", "leak detection",
                 "metering"],
        "role": ["duty engineer", "operations manager", "board of directors", "quality officer"],
        "doc_kind": ["maintenance plan", "quality bulletin", "board memo", "service charter"],
        "metric": ["the number of reported leaks", "average water pressure complaints",
                   "unbilled water losses", "the time to repair a burst main"],
        "cause": ["the replacement of cast-iron mains", "a dry summer that cracked older pipes",
                  "the new acoustic sensors", "faster dispatch of repair crews"],
        "claim": ["old mains fail in clusters, so replacing whole streets is cheaper over time",
                  "sensors only help if someone acts on the alerts the same day",
                  "customers forgive outages they were told about in advance",
                  "pressure management saves more water than any single repair programme"],
        "object": ["the valve inspection schedule", "acoustic leak sensors", "smart meters",
                   "the hydrant flushing programme", "emergency water bowsers"],
        "requirement": ["inspected and logged", "recalibrated", "tested under load",
                        "registered in the asset database"],
        "deadline": ["the start of the winter period", "the end of each quarter",
                     "any planned shutdown", "handover to a contractor"],
        "participants": ["households", "field technicians", "small businesses", "schools"],
        "outcome": ["night-time losses dropped noticeably within six weeks",
                    "the crews found twice as many hidden leaks as expected",
                    "several sensors had to be moved because of traffic noise"],
        "outcome2": ["two bursts flooded the Millbrook underpass",
                     "the regulator asked for better loss figures"],
        "concern": ["the noise of night work", "data privacy for smart meter readings",
                    "the cost of digging up newly paved streets", "slow replies to complaints"],
        "decision": ["publish planned works two weeks ahead", "phase the meter rollout by district",
                     "share repair times on the public website", "hire two more night crews"],
        "funder": ["a regional infrastructure grant", "the authority's capital reserve",
                   "a national leakage fund"],
        "step": ["isolate the affected section", "notify the customers on the street",
                 "sample the water at the nearest hydrant", "photograph the damaged pipe"],
        "condition": ["a main bursts near a hospital or school", "the pressure falls below the minimum",
                      "a contractor damages a pipe", "a water quality sample fails"],
        "interval": ["two weeks", "month", "quarter", "24 hours"],
        "fact": ("the minimum pressure guaranteed to customers in {place}", "{v} bar",
                 [1.5, 1.8, 2.0, 2.2, 2.5]),
    },
    {
        "org": "Corvane Systems",
        "place": ["the Frankfurt data centre", "the Lisbon office", "the staging cluster",
                  "the payments region", "the analytics platform", "the public API gateway"],
        "team": ["site reliability", "platform", "payments", "security", "developer experience"],
        "role": ["incident commander", "head of engineering", "on-call lead", "change advisory board"],
        "doc_kind": ["post-incident review", "runbook", "architecture decision record",
                     "quarterly reliability report"],
        "metric": ["the number of paging alerts", "the median time to restore service",
                   "failed deployments", "the error rate of the checkout service"],
        "cause": ["the move to gradual rollouts", "a noisy alert on disk usage",
                  "an expired certificate that nobody owned", "better dashboards for on-call staff"],
        "claim": ["alerts that nobody acts on are worse than no alerts at all",
                  "most outages start with a change that looked harmless",
                  "a runbook nobody has rehearsed is only a wish list",
                  "rolling back should never require a meeting"],
        "object": ["the deployment pipeline", "the on-call rotation", "database failover",
                   "certificate renewal", "feature flags"],
        "requirement": ["reviewed by a second engineer", "rehearsed in a game day",
                        "documented in the runbook", "monitored with an alert that has an owner"],
        "deadline": ["a change reaches production", "the quarterly planning",
                     "the start of the holiday freeze", "a new service goes live"],
        "participants": ["engineers", "on-call volunteers", "product managers", "support agents"],
        "outcome": ["the time to detect problems halved",
                    "two latent bugs in the failover scripts came to light",
                    "the team decided the exercise should be repeated every quarter"],
        "outcome2": ["the March outage of the payments region",
                     "an audit found certificates without owners"],
        "concern": ["alert fatigue among on-call staff", "the risk of rushed hotfixes on Fridays",
                    "missing ownership of shared libraries", "customer communication during outages"],
        "decision": ["freeze risky changes before holidays", "give every alert a named owner",
                     "automate certificate renewal", "publish a public status page"],
        "funder": ["the platform budget", "a shared reliability fund", "the security programme"],
        "step": ["declare an incident in the chat channel", "roll back the last change",
                 "page the owner of the failing service", "post an update on the status page"],
        "condition": ["error rates exceed five percent for ten minutes", "a security key may have leaked",
                      "a customer reports data loss", "the on-call engineer cannot be reached"],
        "interval": ["sprint", "week", "30 minutes", "quarter"],
        "fact": ("the longest allowed time before the first status page update during an incident",
                 "{v} minutes", [10, 15, 20, 25, 30]),
    },
    {
        "org": "Marlow University Library",
        "place": ["the science reading room", "the law library", "the branch at Fenwick campus",
                  "the special collections vault", "the 24-hour study hall"],
        "team": ["acquisitions", "digital services", "special collections", "lending", "outreach"],
        "role": ["head librarian", "library committee", "conservation officer", "faculty liaison"],
        "doc_kind": ["lending policy", "collection strategy", "committee report", "user guide"],
        "metric": ["the number of physical loans", "e-book downloads", "room booking no-shows",
                   "interlibrary loan requests"],
        "cause": ["the shift to online course readers", "longer opening hours during exams",
                  "a new booking system with reminders", "the closure of a nearby public library"],
        "claim": ["students still prefer print for long texts even when an e-book exists",
                  "quiet space is now the library's most valued service",
                  "licences for e-books cost more over time than buying the printed copy",
                  "rare items are only useful if researchers know they exist"],
        "object": ["the reservation system", "rare book handling", "the e-book licences",
                   "the group study rooms", "laptop lending"],
        "requirement": ["catalogued with a condition report", "renewed by the subject librarian",
                        "booked at least a day ahead", "handled with gloves and a supervisor present"],
        "deadline": ["the start of each semester", "the annual budget review",
                     "any exhibition loan", "the end of the licence period"],
        "participants": ["students", "researchers", "visiting scholars", "staff members"],
        "outcome": ["no-shows fell sharply once reminders were sent",
                    "demand for evening hours turned out to be much higher than expected",
                    "several fragile items were moved to digital access only"],
        "outcome2": ["publishers raised e-book licence prices",
                     "a flood in the basement damaged part of the archive"],
        "concern": ["noise in shared spaces", "the cost of journal subscriptions",
                    "access for readers with disabilities", "damage to fragile bindings"],
        "decision": ["extend opening hours during exams", "digitise the most requested manuscripts",
                     "cap room bookings at three hours", "drop little-used journal bundles"],
        "funder": ["the university's teaching fund", "an alumni donation", "a heritage foundation"],
        "step": ["check the reader's card", "record the item's condition",
                 "place the item on a foam support", "log the return time"],
        "condition": ["an item is requested for an exhibition", "a reader needs an accessible format",
                      "a book is returned damaged", "a room is not claimed within 15 minutes"],
        "interval": ["semester", "month", "week", "15 minutes"],
        "fact": ("the standard loan period for undergraduate students", "{v} days",
                 [14, 21, 28, 30, 35]),
    },
    {
        "org": "Northfold Regional Rail",
        "place": ["the Ashby line", "Carrow Junction", "the coastal branch", "Dunmere station",
                  "the Vell valley route", "the city tunnel"],
        "team": ["timetable planning", "rolling stock", "passenger information", "track maintenance",
                 "accessibility"],
        "role": ["operations director", "regional transport board", "station manager",
                 "safety inspector"],
        "doc_kind": ["timetable proposal", "punctuality report", "passenger charter",
                     "maintenance bulletin"],
        "metric": ["punctuality", "the number of cancelled services", "passenger numbers",
                   "delay minutes caused by signal faults"],
        "cause": ["the new signalling on the coastal branch", "leaf fall in the autumn",
                  "driver shortages", "extra carriages at peak hours"],
        "claim": ["a reliable hourly train beats an unreliable half-hourly one",
                  "passengers mind missing information more than the delay itself",
                  "most delays start at a handful of single-track sections",
                  "step-free access should be planned with the timetable, not after it"],
        "object": ["the real-time departure boards", "the replacement bus service",
                   "step-free access", "the winter timetable", "bicycle spaces"],
        "requirement": ["announced at least a week ahead", "checked by the station manager",
                        "tested with wheelchair users", "approved by the transport board"],
        "deadline": ["the December timetable change", "engineering works begin",
                     "the start of the school year", "a new station opens"],
        "participants": ["commuters", "wheelchair users", "conductors", "cyclists"],
        "outcome": ["complaints about overcrowding fell by a third",
                    "the boards showed wrong platforms for several days",
                    "the replacement buses ran emptier than planned"],
        "outcome2": ["a landslide closed the Vell valley route for a month",
                     "the board asked for more bicycle capacity"],
        "concern": ["overcrowding at peak hours", "unclear announcements during disruption",
                    "the cost of extra rolling stock", "safety at unstaffed stations"],
        "decision": ["add a fourth carriage at peak times", "staff Dunmere station in the evenings",
                     "publish delay causes every month", "run an extra early train"],
        "funder": ["the regional transport board", "a national accessibility grant",
                   "ticket revenue"],
        "step": ["inform the signal box", "announce the change on the platform",
                 "order replacement buses", "update the journey planner"],
        "condition": ["a train is delayed by more than twenty minutes", "a lift is out of service",
                      "severe weather is forecast", "a line is closed without notice"],
        "interval": ["month", "week", "two hours", "timetable period"],
        "fact": ("the delay after which passengers are entitled to half their fare back",
                 "{v} minutes", [30, 40, 45, 60, 75]),
    },
    {
        "org": "Brightwater Community Health Centre",
        "place": ["the west clinic", "the mobile unit", "the Larch Street practice",
                  "the evening service", "the phone booking line"],
        "team": ["appointments", "reception", "community outreach", "patient records", "facilities"],
        "role": ["practice manager", "clinical lead", "patient panel", "data protection officer"],
        "doc_kind": ["service plan", "patient leaflet", "panel report", "staff handbook chapter"],
        "metric": ["missed appointments", "average waiting time on the phone line",
                   "same-day appointment requests", "online bookings"],
        "cause": ["text message reminders", "the new online booking form",
                  "a flu season that started early", "two new reception staff"],
        "claim": ["people miss appointments mostly because they forget, not because they do not care",
                  "the phone line must stay for those who cannot use the website",
                  "short evening slots help working parents more than anything else",
                  "clear letters save more time than any software"],
        "object": ["the appointment reminder service", "the online booking form",
                   "interpreter bookings", "the waiting room layout", "the evening service"],
        "requirement": ["confirmed by text message", "checked by the practice manager",
                        "booked two days in advance", "reviewed with the patient panel"],
        "deadline": ["the winter season", "the next patient panel meeting",
                     "the new booking system goes live", "the end of the financial year"],
        "participants": ["patients", "carers", "reception staff", "volunteers"],
        "outcome": ["missed appointments dropped by nearly a quarter",
                    "older patients kept using the phone line as expected",
                    "the queue at the door in the morning almost disappeared"],
        "outcome2": ["complaints about the phone line doubled in one winter",
                     "the panel asked for longer evening hours"],
        "concern": ["waiting times on the phone", "privacy at the reception desk",
                    "access for patients without internet", "the cost of interpreters"],
        "decision": ["open the evening service twice a week", "move the reception desk away from the queue",
                     "keep a quota of phone-only appointments", "send reminders a day earlier"],
        "funder": ["the local health board", "a community foundation", "the centre's own budget"],
        "step": ["check the patient's details", "offer the next free appointment",
                 "book an interpreter if needed", "send a confirmation message"],
        "condition": ["a patient needs an interpreter", "the phone queue is longer than ten callers",
                      "a clinician is off sick", "a patient arrives without an appointment"],
        "interval": ["week", "month", "day", "quarter"],
        "fact": ("how many days ahead patients can book routine appointments online",
                 "{v} days", [14, 21, 28, 42, 56]),
    },
    {
        "org": "Ostervik Wind Cooperative",
        "place": ["the Ridge site", "the Skerry turbines", "the northern array", "the village of Ostervik",
                  "the substation at Holm"],
        "team": ["operations", "member relations", "finance", "environmental monitoring", "planning"],
        "role": ["cooperative board", "general assembly", "site supervisor", "treasurer"],
        "doc_kind": ["annual report", "member newsletter", "board decision", "monitoring report"],
        "metric": ["electricity output", "turbine downtime", "the member dividend",
                   "bird collision reports"],
        "cause": ["an unusually calm spring", "the new blade heating", "grid curtailment at night",
                  "faster access to spare parts"],
        "claim": ["local ownership is why the village accepted the turbines",
                  "curtailment costs the cooperative more than any repair",
                  "members care about transparency more than about the dividend",
                  "careful monitoring is cheaper than a dispute with neighbours"],
        "object": ["blade inspections", "the bird monitoring programme", "the member dividend",
                   "the battery storage project", "the noise measurements"],
        "requirement": ["approved by the general assembly", "carried out by a certified inspector",
                        "published on the member portal", "checked against the permit"],
        "deadline": ["the spring migration", "the annual general meeting",
                     "the next grid connection review", "the winter storms"],
        "participants": ["members", "neighbours", "local farmers", "volunteers"],
        "outcome": ["downtime fell by a third after the blade heating was installed",
                    "no collisions were recorded during the monitored weeks",
                    "noise levels stayed within the permit at every measuring point"],
        "outcome2": ["a storm damaged a blade on the Ridge site",
                     "the grid operator raised connection fees"],
        "concern": ["noise at night", "the effect on migrating birds", "grid curtailment",
                    "the size of the reserve fund"],
        "decision": ["build a small battery store", "pay the dividend in two instalments",
                     "shut down two turbines during peak migration", "open the site for guided tours"],
        "funder": ["members' shares", "a green energy loan", "the municipality"],
        "step": ["stop the turbine remotely", "inform the grid operator",
                 "inspect the blade from the ground", "record the event in the log"],
        "condition": ["wind speed exceeds 25 metres per second", "ice forms on the blades",
                      "a bird collision is reported", "the grid operator asks for curtailment"],
        "interval": ["month", "season", "week", "year"],
        "fact": ("the minimum number of shares a member must hold to vote at the general assembly",
                 "{v} shares", [1, 2, 3, 5, 10]),
    },
    {
        "org": "Greenfield Food Cooperative",
        "place": ["the Canal Street shop", "the warehouse at Pike Lane", "the Saturday market stall",
                  "the delivery round", "the community kitchen"],
        "team": ["purchasing", "volunteer coordination", "logistics", "membership", "shop floor"],
        "role": ["members' council", "shop coordinator", "food safety lead", "treasurer"],
        "doc_kind": ["supplier policy", "volunteer handbook", "council minutes", "stock report"],
        "metric": ["food waste", "the share of local produce", "volunteer hours", "membership numbers"],
        "cause": ["the new cold room", "a partnership with two nearby farms",
                  "weekday evening opening", "better stock ordering"],
        "claim": ["a cooperative lives or dies by its volunteers",
                  "local does not always mean lower emissions",
                  "members will pay a little more if they know the farmer",
                  "waste starts with ordering, not with the shelf"],
        "object": ["the cold room", "the surplus food scheme", "the bulk refill station",
                   "the delivery round", "supplier contracts"],
        "requirement": ["checked for temperature twice a day", "signed by two council members",
                        "labelled with the delivery date", "reviewed by the food safety lead"],
        "deadline": ["the summer season", "the next council meeting",
                     "a new supplier is listed", "the annual inspection"],
        "participants": ["members", "volunteers", "local growers", "customers"],
        "outcome": ["waste fell noticeably once orders were based on the last four weeks",
                    "the refill station became the shop's most popular corner",
                    "evening opening drew many new members"],
        "outcome2": ["the old fridge failed during a heatwave",
                     "two suppliers raised their prices sharply"],
        "concern": ["prices compared with supermarkets", "the workload of volunteers",
                    "food safety at the market stall", "plastic packaging"],
        "decision": ["give surplus food to the community kitchen", "offer a reduced membership fee",
                     "buy a second-hand delivery van", "limit plastic packaging from suppliers"],
        "funder": ["membership fees", "a local climate grant", "a crowdfunding campaign"],
        "step": ["check the delivery against the order", "record fridge temperatures",
                 "label items with their use-by date", "move surplus to the kitchen shelf"],
        "condition": ["a fridge is warmer than five degrees", "a delivery arrives damaged",
                      "a volunteer shift is not covered", "a product is recalled"],
        "interval": ["day", "week", "month", "shift"],
        "fact": ("the number of volunteer hours a member must contribute each month", "{v} hours",
                 [2, 3, 4, 6, 8]),
    },
    {
        "org": "Calder Museum of Everyday Objects",
        "place": ["the textile gallery", "the east storage wing", "the children's room",
                  "the travelling exhibition", "the photography archive"],
        "team": ["conservation", "collections", "learning", "exhibitions", "visitor services"],
        "role": ["museum director", "board of trustees", "registrar", "conservation officer"],
        "doc_kind": ["collections policy", "conservation report", "loan agreement", "visitor study"],
        "metric": ["visitor numbers", "relative humidity in storage", "school group bookings",
                   "objects on display"],
        "cause": ["the new climate control", "free entry on Sundays", "a popular exhibition on toys",
                  "the renovation of the entrance hall"],
        "claim": ["ordinary objects tell the best stories about ordinary lives",
                  "an object in storage that nobody can find is as good as lost",
                  "children remember what they are allowed to touch",
                  "light damages textiles more than any visitor does"],
        "object": ["textile storage", "the object database", "handling collections for schools",
                   "exhibition lighting", "outgoing loans"],
        "requirement": ["photographed and catalogued", "packed by a conservator",
                        "kept below fifty lux", "approved by the registrar"],
        "deadline": ["an object leaves the building", "a new exhibition opens",
                     "the annual insurance review", "the school holidays"],
        "participants": ["visitors", "teachers", "volunteers", "researchers"],
        "outcome": ["visitors stayed twice as long in the rooms with handling tables",
                    "humidity stayed within the target range all summer",
                    "several objects were found to have been mislabelled for years"],
        "outcome2": ["a leak in the east storage wing", "a request to lend forty objects abroad"],
        "concern": ["fading of textiles on display", "the backlog of uncatalogued objects",
                    "the cost of insurance for loans", "crowding in small rooms"],
        "decision": ["rotate textiles every three months", "hire a temporary cataloguer",
                     "limit group sizes in the children's room", "digitise the photography archive"],
        "funder": ["a heritage lottery grant", "the city council", "the friends of the museum"],
        "step": ["check the object's condition report", "wrap it in acid-free tissue",
                 "record its new location", "inform the registrar"],
        "condition": ["an object is requested for a loan", "humidity rises above sixty percent",
                      "an object is damaged on display", "a donor asks for an object back"],
        "interval": ["three months", "month", "week", "year"],
        "fact": ("the longest time a textile may stay on display before it returns to storage",
                 "{v} months", [3, 4, 6, 9, 12]),
    },
    {
        "org": "Dunholm School District",
        "place": ["the Riverside primary school", "the Highmoor secondary school",
                  "the rural bus routes", "the Eastgate depot", "the after-school club"],
        "team": ["transport", "school meals", "special educational needs", "facilities", "parent liaison"],
        "role": ["district superintendent", "school board", "transport coordinator", "head teacher"],
        "doc_kind": ["transport policy", "parent letter", "board paper", "safety review"],
        "metric": ["late bus arrivals", "pupils using the school bus", "meal uptake",
                   "complaints from parents"],
        "cause": ["new routes after the bridge closure", "GPS tracking on every bus",
                  "a driver shortage in the autumn", "free breakfast at two schools"],
        "claim": ["a bus that arrives on time matters more than a shorter route",
                  "parents want to know where the bus is, not only when it is late",
                  "walking routes need adults on them to feel safe",
                  "pupils eat better when meals are planned with them"],
        "object": ["the bus tracking app", "the walking bus scheme", "the meal menu",
                   "the special transport service", "the bus stop at Mill Corner"],
        "requirement": ["agreed with parents in writing", "checked by the transport coordinator",
                        "reviewed after every term", "supervised by two adults"],
        "deadline": ["the start of the school year", "the winter timetable",
                     "the next board meeting", "the new routes start"],
        "participants": ["parents", "pupils", "bus drivers", "teachers"],
        "outcome": ["late arrivals fell once parents could see the bus on the app",
                    "more pupils walked to school in the spring than in the winter",
                    "the new menu cut waste in the canteen"],
        "outcome2": ["the bridge on the rural route was closed for repairs",
                     "parents petitioned for a safer bus stop"],
        "concern": ["safety at the Mill Corner stop", "long journeys on rural routes",
                    "the cost of special transport", "privacy of the tracking data"],
        "decision": ["move the Mill Corner stop fifty metres", "add a second rural bus",
                     "delete tracking data after a week", "extend the walking bus to Highmoor"],
        "funder": ["the district budget", "a road safety grant", "the parents' association"],
        "step": ["call the transport coordinator", "inform the school office",
                 "send a message through the app", "arrange a replacement vehicle"],
        "condition": ["a bus is more than fifteen minutes late", "roads are closed by snow",
                      "a pupil is not at the stop", "a driver is unwell"],
        "interval": ["term", "week", "month", "day"],
        "fact": ("the longest one-way bus journey the district accepts for a primary pupil",
                 "{v} minutes", [35, 40, 45, 50, 60]),
    },
    {
        "org": "Fathom & Finch Design Studio",
        "place": ["the Rotterdam studio", "the Leeds studio", "the remote team",
                  "the client workshop room", "the shared project drive"],
        "team": ["people operations", "studio management", "brand design", "digital product",
                 "finance"],
        "role": ["managing partner", "people lead", "studio manager", "works council"],
        "doc_kind": ["staff handbook", "policy update", "partners' memo", "team survey report"],
        "metric": ["overtime hours", "staff turnover", "billable utilisation", "sick days"],
        "cause": ["the four-day week trial", "a large rebranding project", "hybrid working",
                  "clearer project estimates"],
        "claim": ["creative work suffers long before the overtime shows in the numbers",
                  "a studio is only as calm as its worst-estimated project",
                  "people stay where they can learn, not only where they are paid well",
                  "remote colleagues need the same information at the same time"],
        "object": ["the overtime policy", "the learning budget", "parental leave",
                   "the hybrid working agreement", "project estimates"],
        "requirement": ["agreed with the people lead", "logged in the time system",
                        "reviewed by the project lead", "discussed in the weekly studio meeting"],
        "deadline": ["a project is signed", "the annual salary review",
                     "the start of the new year", "a new hire starts"],
        "participants": ["designers", "project managers", "interns", "freelancers"],
        "outcome": ["overtime fell without a drop in billable hours",
                    "interns reported feeling better supported",
                    "two teams asked to keep the trial permanently"],
        "outcome2": ["three designers left in one quarter",
                     "a client project overran by two months"],
        "concern": ["unpaid overtime", "isolation of remote staff", "uneven access to training",
                    "pressure from fixed-price contracts"],
        "decision": ["extend the four-day week trial", "double the learning budget for juniors",
                     "add a buffer to every estimate", "hold a monthly all-hands in person"],
        "funder": ["the studio's profit share", "a regional skills fund", "client fees"],
        "step": ["record the hours in the time system", "tell the project lead",
                 "agree time off in lieu", "note the reason in the project log"],
        "condition": ["a deadline cannot move", "someone works more than 45 hours in a week",
                      "a freelancer joins a project", "a client asks for weekend work"],
        "interval": ["month", "week", "quarter", "year"],
        "fact": ("the yearly learning budget each employee may spend on courses or books",
                 "{v} euros", [600, 800, 1000, 1200, 1500]),
    },
]

QUESTIONS = [
    "According to the documents, what is {subject}? Quote the sentence that states it, say "
    "which document it comes from, and mention anything in the other documents that is "
    "relevant to it.",
    "I need a short briefing for a new colleague. Based only on these documents, what is "
    "{subject}, when was it set, and which concerns raised in the documents could affect it?",
    "Answer from the documents only: what is {subject}? Then list, with document numbers, the "
    "two costs or budget figures that seem most important and explain why.",
]


def person(rng):
    return f"{rng.pick(FIRST)} {rng.pick(LAST)}"


def fill(template, domain, rng, extra=None):
    year = rng.between(2016, 2022)
    values = {
        "org": domain["org"], "person": person(rng), "year": str(year),
        "year2": str(year + rng.between(1, 3)), "month": rng.pick(MONTHS),
        "pct": str(rng.between(3, 48)), "n": str(rng.between(12, 480)),
        "money": f"{rng.between(8, 950) * 1000:,} euros",
    }
    for key in ["place", "team", "role", "doc_kind", "metric", "cause", "claim", "object",
                "requirement", "deadline", "participants", "outcome", "outcome2", "concern",
                "decision", "funder", "condition", "interval"]:
        values[key] = rng.pick(domain[key])
    values["place2"] = rng.pick([p for p in domain["place"] if p != values["place"]])
    steps = list(domain["step"])
    for slot in ["step", "step2", "step3"]:
        values[slot] = steps.pop(rng.below(len(steps)))
    values["doc_kind_cap"] = values["doc_kind"].capitalize()
    if extra:
        values.update(extra)
    text = template.format(**values)
    return text[0].upper() + text[1:]


def document(domain, rng, planted=None):
    title = fill(rng.pick(TITLES), domain, rng)
    paragraphs = []
    for _ in range(rng.between(3, 4)):
        count = rng.between(4, 6)
        paragraphs.append(" ".join(fill(rng.pick(SENTENCES), domain, rng) for _ in range(count)))
    if planted:
        where = rng.below(len(paragraphs))
        paragraphs[where] = paragraphs[where] + " " + planted
    return title, paragraphs


def prompt(index, domain):
    rng = Rng(1000 + index)
    subject_template, value_template, choices = domain["fact"]
    place = rng.pick(domain["place"])
    subject = subject_template.format(place=place)
    value = value_template.format(v=rng.pick(choices))
    month, year = rng.pick(MONTHS), rng.between(2021, 2024)
    planted = (f"Following the {rng.pick(domain['doc_kind'])} of {month} {year}, "
               f"{subject} is {value}; the {rng.pick(domain['role'])} confirmed this figure "
               f"after reviewing {rng.pick(domain['concern'])}.")
    question = rng.pick(QUESTIONS).format(subject=subject)

    documents = []
    # Build documents until the context reaches the target size, planting the fact in one of
    # the middle ones so the answer is neither first nor last (where models look hardest).
    plant_at = rng.between(2, 4)
    while sum(len(t) + sum(len(p) for p in ps) for t, ps in documents) < TARGET_BYTES:
        planted_here = planted if len(documents) == plant_at else None
        documents.append(document(domain, rng, planted_here))
    if len(documents) <= plant_at:
        documents.append(document(domain, rng, planted))

    parts = [f"Retrieved documents from the knowledge base of {domain['org']}:"]
    for number, (title, paragraphs) in enumerate(documents, start=1):
        parts.append(f"[{number}] {title}\n" + "\n".join(paragraphs))
    parts.append(f"Question: {question}")
    return {"messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": "\n\n".join(parts)}]}


def main():
    for index, domain in enumerate(DOMAINS):
        sys.stdout.write(json.dumps(prompt(index, domain), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
