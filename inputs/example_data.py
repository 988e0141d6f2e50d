"""Data of the example input workbook `inputs/example.xlsx`: an Australia–Japan
critical-minerals case for 2027, quarter by quarter.

The example plans one year (2027-Q1..Q4) of supply for a group of allied buyers
(Japanese and Korean battery-material makers, Japanese magnet makers, an
Estonian magnet plant, a US cell maker and two chip makers), as an
Australia–Japan partnership desk would look at it:

* lithium: spodumene SC6 (Greenbushes, Pilgangoora), brine carbonate (Chile,
  Argentina) and Chinese lepidolite -> lithium hydroxide at Kwinana, Kemerton
  (idle) or Chinese converters -> Japanese and Korean cathode makers;
* rare earths, with the real multi-stage route: Mt Weld concentrate -> cracking
  at Lynas Kalgoorlie -> separation at Lynas Malaysia into NdPr oxide and Dy/Tb
  oxide (co-products); Mountain Pass, Chinese and Myanmar feeds; Eneabba, La
  Rochelle, Silmet and Chinese separators -> Japanese and Estonian magnet makers;
* nickel and cobalt: Indonesian HPAL MHP, Philippine HPAL mixed sulphide,
  Murrin Murrin, DRC cobalt hydroxide -> Niihama or a Chinese refinery ->
  cathode makers;
* graphite: Balama flake -> Vidalia or a Chinese spheroidiser -> anode makers;
* gallium: Chinese primary gallium, Wagerup gallium from alumina liquor.

Two strategic stockpiles (the Australian Critical Minerals Strategic Reserve and
a JOGMEC-style Japanese stockpile), policy rules (EU CRMA 65%, Japan's 50%
rare-earth target, a US 45X rule with an Allies group, China's Dy/Tb licensing,
the DRC cobalt quota, Indonesia's ore export ban) and the what-if scenarios a
sourcing meeting asks for.

`inputs/build_example.py` turns this module into the workbook; edit the numbers
here, then run `python inputs/build_example.py` (or `make example`).
`docs/tutorial.md` walks through the plan (regenerate it with
`python docs/make_tutorial.py`).

How to read this file
---------------------
Every sheet is a plain list of dicts whose keys are the column names of the
input workbook contract (docs/workbook.md); a missing key or None is a blank cell.
Every number is a figure `F(value, basis, ref, note)`: `basis` says whether it
is `published` (as in the source), `rounded` (a published figure rounded or a
range's midpoint), `derived` (arithmetic on published figures, shown in the
note) or `assumed` (illustrative, no public figure behind it); `ref` names the
entry of REFS below (the public source, its year and how sure the figure is:
C/S/D/U, spelled out in CONFIDENCE). The build script writes the value to the
sheet and the provenance to the workbook's `Sources` sheet, one row per figure.

Units: quantities in t per quarter (capacities are a quarter of the annual
figure); money in USD, prices and costs per t. Rare-earth feeds and MREC are
counted in t of contained rare-earth oxide (t REO); `battery nickel` and
`battery cobalt` in t of contained metal; `Co hydroxide` in t of contained Co;
`LiOH` is battery-grade LiOH·H2O; `Ga in liquor` is t of gallium contained.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class F:
    """A figure and where it comes from (one row of the Sources sheet)."""

    value: float
    basis: str         # published | rounded | derived | assumed
    ref: str = ""      # key(s) of REFS, separated by "+"; "" = no public source
    note: str = ""


def pub(value, ref, note=""):
    return F(value, "published", ref, note)


def rnd(value, ref, note):
    return F(value, "rounded", ref, note)


def der(value, ref, note):
    return F(value, "derived", ref, note)


def asm(value, note, ref=""):
    return F(value, "assumed", ref, note)


# Public sources: each entry is (the publisher or outlet, the title or document, its date
# and web address where known, then the figure it gives; the year of the figure; how sure
# the figure is: C = read in the source itself, or a reputable outlet quoting it; S = a
# secondary source (aggregator, news summary, transcription): plausible, cite with care;
# D = derived by arithmetic from such figures; U = unconfirmed, verify before relying on it).
# The Sources sheet spells the confidence out in words (CONFIDENCE below).
CONFIDENCE = {
    "C": "read in the source",
    "S": "secondary source, cite with care",
    "D": "derived by arithmetic",
    "U": "unconfirmed, verify",
}
USGS_MCS = "https://pubs.usgs.gov/periodicals/mcs2025/mcs2025-{}.pdf"
REFS = {
    # --- lithium
    "li-mine": ("U.S. Geological Survey (USGS), Mineral Commodity Summaries 2024 and 2025, "
                f"Lithium ({USGS_MCS.format('lithium')}), as listed by wikimili (list of "
                "countries by lithium production) and an investingnews.com reprint: lithium "
                "mine output 2023, Chile 44,000 t Li, Argentina 9,600 t, China 33,000 t",
                "2023", "C"),
    "li-refining": ("International Energy Agency (IEA) data as summarised by "
                    "evmarketsreports.com, and summaries of the IEA Global Critical Minerals "
                    "Outlook 2025 (21 May 2025): China ~65-70% of lithium refining",
                    "2022-2024", "S"),
    "li-factors": ("Industry lithium conversion table quoted on HotCopper and "
                   "batteryindustry.tech; factor 1.135 in the pmbusch/Critical-Minerals-EV "
                   "model (https://github.com/pmbusch/Critical-Minerals-EV, LoadDepositData.R): "
                   "1 t LCE = 1.135 t LiOH·H2O; 6.6-7.0 t SC6 per t LiOH·H2O at 85-90% "
                   "converter recovery (the recovery rate is an assumption)", "-", "C/D"),
    "li-conv-cost": ("pmbusch/Critical-Minerals-EV academic model "
                     "(https://github.com/pmbusch/Critical-Minerals-EV), in 2022 US$: "
                     "spodumene -> LCE conversion US$2,500/t LCE", "2022", "C"),
    "cn-toll": ("S&P Global, quoted by tiatira.com, Apr 2023: Chinese tolling fee ¥20,000/t "
                "LCE for processing and refining", "2023", "C"),
    "carb-hydrox": ("Benchmark, via miningnews.net, ~2019: carbonate -> hydroxide conversion "
                    "US$1,000-1,500/t", "~2019", "C"),
    "sc6-sep24": ("Fastmarkets, spodumene price correction notice, 25 Sep 2024: spodumene SC6 "
                  "$750-803/t CIF China", "2024", "C"),
    "sc6-may25": ("energyx.com (Benchmark and InfoLink data), May 2025: spodumene SC6 "
                  "$670-685/t CIF China", "2025", "S"),
    "sc6-auction": ("metal.com (SMM), H2 2025: spodumene SC6 $1,005/t at auction", "2025",
                    "S"),
    "sc6-freight": ("S&P Global, quoted by tiatira.com, Apr 2023: spodumene Port Hedland -> "
                    "China, 5,000 t parcel, $90/dmt (peak market)", "2023", "C"),
    "li2co3": ("energyx.com, May 2025: lithium carbonate China CNY 59,000-62,000/t "
               "(~$8,500-9,000)", "2025", "S"),
    "greenbushes": ("Argus; nrinvesting.com; metalnomist: Greenbushes (Talison) FY25 ≈1.4 Mt "
                    "spodumene concentrate", "2025", "C"),
    "pilgangoora": ("miningweekly; australianmining (Dec 2025): Pilgangoora (PLS) ~1.0 Mtpa "
                    "concentrate after the P1000 expansion", "2025", "C"),
    "kwinana": ("metalnomist; thewest.com.au: Kwinana (TLEA) Train 1 24 ktpa LiOH", "2025",
                "C"),
    "kemerton": ("thewest.com.au, 31 Jul 2024 and 11 Feb 2026: Kemerton (Albemarle) 2 × 25 "
                 "ktpa LiOH, whole plant idled Feb 2026", "2026", "C"),
    "bat-demand": ("Japan's Battery Industry Strategy 2022 / BASC estimates, in the IEA policy "
                   "database: 150 GWh/yr domestic capacity by 2030 needs ~100 kt Li, 90 kt Ni, "
                   "150 kt graphite a year (unit basis not stated)", "2022", "C/U"),
    "bat-demand-global": ("Japan's Battery Industry Strategy 2022 / BASC estimates, in the IEA "
                          "policy database: 600 GWh/yr by Japanese firms needs ~310 kt Ni and "
                          "60 kt Co a year (unit basis not stated)", "2022", "C/U"),
    # --- rare earths
    "mtweld": ("nrinvesting.com, Aug 2024: Mt Weld (Lynas) expanding to 12,000 t/yr "
               "NdPr-equivalent", "2024", "C"),
    "kalgoorlie": ("seaisi.org: Lynas Kalgoorlie (opened Nov 2024) supports ~9,000 t/yr NdPr",
                   "2024", "C"),
    "lynas-my": ("Fastmarkets; australianmining.com.au: Lynas Malaysia 10,500 t/yr NdPr; HREE "
                 "circuit 1,500 t/yr feed; first Dy May 2025", "2025", "C"),
    "ree-yields": ("Investor forum summary (weak): MREC -> separated oxides recovery 90-99%, "
                   "monazite -> MREC 75-95%; NdPr ≈25% of TREO in Mt Weld-type ore "
                   "(background figure, unconfirmed)", "-", "S/U"),
    "mp": ("MP Materials, SEC exhibit, 22 Jan 2025: Mountain Pass 45,455 t REO in concentrate "
           "in 2024", "2024", "C"),
    "cn-ree": ("USGS, Mineral Commodity Summaries 2025, Rare Earths "
               f"({USGS_MCS.format('rare-earths')}), as transcribed in a public GitHub data "
               "file: China rare-earth mine quota 270,000 t REO", "2024", "S"),
    "mm-ree": ("USGS, Mineral Commodity Summaries 2025, Rare Earths "
               f"({USGS_MCS.format('rare-earths')}), as transcribed in a public GitHub data "
               "file: Burma (Myanmar) 31,000 t REO", "2024", "S"),
    "eneabba": ("metalnomist; miningmagazine: Iluka Eneabba refinery 12,100-18,400 t/yr REO "
                "(reported), commissioning 2027", "2025", "S"),
    "la-rochelle": ("specchemonline; 24brussels: Solvay La Rochelle 2,000-5,000 t REO possible; "
                    "NdPr line restarted Apr 2025", "2025", "C"),
    "silmet": ("Argus: Neo Performance Materials' Silmet LREE separation 3,000 t/yr; Narva "
               "magnet plant 2,000 t/yr", "2025", "C"),
    "ndpr-cn": ("Lynas H1 FY25 results via australianmining.com.au: NdPr China domestic ex-VAT "
                "$49/kg, Dec 2024; Fastmarkets weekly reports: NdPr oxide FOB China $50-55/kg, "
                "Apr-Jun 2024", "2024", "C"),
    "ndpr-eu": ("Argus via rareearth-materials.com, Sep 2025: NdPr oxide Europe $82.50-85/kg",
                "2025", "S"),
    "ndpr-floor": ("Benchmark; wedoany.com, Jul 2025: US Department of Defense-MP Materials "
                   "agreement, NdPr price floor $110/kg", "2025", "C"),
    "dytb-cn": ("USGS, Mineral Commodity Summaries 2025, Rare Earths "
                f"({USGS_MCS.format('rare-earths')}), as transcribed in a public GitHub data "
                "file: Dy oxide $260/kg, Tb oxide $810/kg, 2024 averages", "2024", "S"),
    "dytb-eu": ("Argus via gmteight.com, May 2025: Dy oxide Europe $700-1,000/kg, Tb oxide "
                "$2,000-4,000/kg", "2025", "C"),
    "jare": ("firstpost; metal.com: JARE (Sojitz + JOGMEC) priority access to up to 65% of "
             "Mt Weld Dy/Tb ≈ 30% of Japan's HREE demand", "2023", "C"),
    "magnet-demand": ("IEA, Global Critical Minerals Outlook 2024 (17 May 2024), via seaisi.org "
                      "(3 Jun 2024): magnet rare-earth demand ~93,000 t", "2023", "C"),
    # --- nickel and cobalt
    "mhp": ("Davis Index: HPL (Harita-Lygend, Obi) HPAL 96,000 t/yr MHP containing 37,260 t Ni "
            "+ 4,577 t Co -> MHP ≈39% Ni, 4.8% Co", "-", "C/D"),
    "ms": ("Sumitomo Metal Mining, smm.co.jp, 2006: Coral Bay mixed sulphide ≈55% Ni; 10,000 t "
           "Ni + 700 t Co per line", "2006", "C"),
    "qmb": ("Project Blue: QMB (IMIP, Morowali) HPAL ~100 ktpa Ni by late 2024", "2024", "C"),
    "hpl": ("Davis Index: Halmahera Persada Lygend (Obi) 37,260 t Ni + 4,577 t Co a year",
            "-", "C"),
    "coral-bay": ("japanmetalbulletin: Coral Bay HPAL 20 kt Ni + 1.4 kt Co a year", "-", "C"),
    "taganito": ("Bloomberg (reprint): Taganito HPAL 30 kt Ni + 2.6 kt Co a year", "-", "C"),
    "murrin": ("mining-technology; thewest.com.au: Murrin Murrin 31,100 t Ni, 2,100 t Co",
               "2023", "C"),
    "niihama": ("azomining; industrialinfo: Sumitomo Metal Mining's Niihama refinery 65 kt Ni, "
                "4.5 kt Co a year", "-", "C"),
    "cmoc": ("metalnomist; bankable.africa: CMOC cobalt 114,165 t (TFM + KFM)", "2024", "C"),
    "ni-price": ("batteryfeedstock.com, late 2025: LME nickel ~$14,295/t", "2025", "S"),
    "co-hydroxide": ("batteryfeedstock.com, late 2025: cobalt hydroxide offers ~$25/lb after "
                     "the DRC quotas", "2025", "S"),
    "co-payable": ("Reuters / Benchmark, quoted in a blog: cobalt hydroxide payable 93-94% of "
                   "the metal price", "~2021", "C"),
    "id-ni": ("USGS data, via an investingnews.com reprint (bondideas.com): Indonesia ~2.2 Mt "
              "Ni mine output, >50% of world", "2024", "C"),
    # --- graphite
    "balama": ("metalnomist; middle.news (Syrah quarterly): Balama run-rate 23 kt/month "
               "(276 ktpa) Jun 2025; Q3 2025 26 kt at $625/t", "2025", "C/S"),
    "vidalia": ("Syrah Resources' Vidalia plant (company figures as reported; outlet not "
                "recorded): 11.25 ktpa active anode material; Tesla 8 ktpa offtake", "2025",
                "C"),
    "flake": ("Fastmarkets, 31 Oct 2024: graphite flake 94% C −100 mesh $450-470/t FOB China",
              "2024", "C"),
    "spg": ("Fastmarkets, Oct 2024: spherical graphite 99.95% C 15 µm $1,700-2,000/t FOB China",
            "2024", "C"),
    "graphite-cn": ("USGS, Mineral Commodity Summaries 2025, Graphite "
                    f"({USGS_MCS.format('graphite')}), as cited by statranker.org: natural "
                    "graphite ≈1.6 Mt, China ≈78-79%", "2024", "S"),
    "adcvd": ("Reuters (reprints), 17 Jul 2025: US preliminary anti-dumping duty 93.5% and "
              "countervailing duty 6.55% on Chinese active anode material", "2025", "C"),
    "45x": ("rhomotion; O'Melveny; Hogan Lovells: the One Big Beautiful Bill Act (signed 4 Jul "
            "2025) keeps 45X with 'prohibited foreign entity' restrictions from 2026", "2025",
            "C"),
    # --- gallium
    "ga-cn": ("RFC Ambrian report, via daily8: China gallium output ~750 t/yr", "2024", "S"),
    "ga-price": ("Fastmarkets, Oct 2023: gallium 99.99% Rotterdam $400-450/kg", "2023", "C"),
    "ga-peak": ("RFC Ambrian: gallium peak $580/kg, Jun 2022", "2022", "S"),
    "wagerup": ("manmonthly; trends.glance: Alcoa-Sojitz/JAGA Wagerup gallium ~100 t/yr (~10% "
                "of world), first metal targeted 2026", "2025", "C"),
    "ga-demand": ("RFC Ambrian report, via daily8: world gallium consumption ~335 t (2024); "
                  "ABC, via africamerica-alliance.com: demand ~700-750 t/yr (2025)",
                  "2024-2025", "S"),
    # --- freight
    "freight-asia": ("No published rate found (Australia -> Japan / Malaysia concentrate "
                     "parcels): assumed ~$20-40/t for small parcels, scaled by distance from "
                     "the Western Australia -> China bulk rates (BigMint, 2024)", "-", "U"),
    "freight-bulk": ("BigMint, 2024: Supramax India east coast -> China $12-14/t; Argus, 2021: "
                     "ilmenite Kenya -> China $28-90/t", "2021-2024", "C"),
    # --- policy
    "cmsr": ("Australian Government, Critical Minerals Strategic Reserve, as reported by "
             "manmonthly (12 Jan 2026) and investingnews.com (15 Jan 2026): A$1bn via the "
             "Critical Minerals Facility + A$185m for stockpiling; initial focus antimony, "
             "gallium, rare earths; holdings on-sold to industry and partners", "2026", "C"),
    "cmpti": ("Australian Government, Critical Minerals Production Tax Incentive "
              "(industry.gov.au; Treasury consultation; GTLaw): refundable 10% offset on "
              "eligible processing/refining costs, 1 Jul 2027-30 Jun 2040", "2025", "C"),
    "jogmec": ("Japan's 2020 International Resource Strategy (JOGMEC stockpile), in the IEA "
               "policy database and japan-forward: target 60 days of domestic consumption, up "
               "to 180 days for high-risk metals; levels undisclosed", "2020", "C"),
    "crma": ("Regulation (EU) 2024/1252 (Critical Raw Materials Act, in force 23 May 2024), as "
             "reported by chemycal.com and urdupoint.com: ≤65% of each strategic raw material "
             "from one third country at any relevant processing stage", "2024", "C"),
    "jp-target": ("Reuters, 2019: METI target, reliance on any single country for rare earths "
                  "≤50% by 2025; JOGMEC via the Wall Street Journal: ~70% from China in 2024",
                  "2019", "C"),
    "cn-apr25": ("China, export-control Announcement 18/2025, 4 Apr 2025 (Holland & Knight; "
                 "sfa-oxford): export licensing for Sm, Gd, Tb, Dy, Lu, Sc, Y", "2025", "C"),
    "cn-oct25": ("China, Announcements 55-58 and 61-62, 9 Oct 2025 (particle.news): more REEs, "
                 "0.1% foreign-direct-product rule, battery and synthetic-graphite-anode items; "
                 "suspended until 10 Nov 2026 by Announcement 70/2025 (chemradar)", "2025",
                 "C"),
    "eu-licences": ("particle.news, autumn 2025: EU industry: 19 of 141 licence applications "
                    "approved", "2025", "S"),
    "cn-us-ban": ("MOFCOM Announcement 46/2024, 3 Dec 2024 (Reuters/AP reprints): ban on Ga, "
                  "Ge, Sb exports to the US; suspended until 27 Nov 2026 (CGTN)", "2024", "C"),
    "lynas-licence": ("Lynas Rare Earths, ASX announcements and Reuters: the Malaysian "
                      "operating licence renewed with conditions in 2019 and 2023, cracking "
                      "and leaching moved to Kalgoorlie (opened Nov 2024); no published "
                      "probability of a restriction", "2019-2024", "U"),
    "port-hedland": ("Pilbara Ports Authority cyclone procedures (Port Hedland closes to "
                     "shipping when a cyclone approaches; the Pilbara cyclone season runs "
                     "Nov-Apr); no published closure frequency", "-", "U"),
    "embargo-2010": ("New York Times, via lonelyjapan.com: Sept 2010, ~2-month unannounced "
                     "embargo on rare-earth exports to Japan; geopolitechs.org, bairdmaritime "
                     "and the Wall Street Journal: Jan 2026 reports of halted licence reviews "
                     "for Japan (China, Announcement 1/2026)", "2010", "C"),
    "drc-quota": ("mteexpos.co.za; bankable.africa: DRC cobalt export quota 96,600 t/yr for "
                  "2026 and 2027", "2025", "C"),
    "id-ban": ("Reuters, via financialpost.com, 2 Sep 2019: Indonesia bans all nickel-ore "
               "exports from 1 Jan 2020", "2019", "C"),
    "feoc": ("US Treasury and IRS, T.D. 9995, 'Section 30D Excluded Entities' (final "
             "regulations, 6 May 2024) and US Department of Energy, 'Interpretation of "
             "Foreign Entity of Concern' (final interpretive rule, 3 May 2024): from 2025 no "
             "applicable critical mineral extracted, processed or recycled by a FEOC; covered "
             "nations China, Russia, North Korea, Iran", "2024", "C"),
    "allies": ("US-Australia Framework (20 Oct 2025) and US-Japan Framework (28 Oct 2025) on "
               "critical minerals and rare earths, G7 Critical Minerals Action Plan "
               "(Kananaskis, 17 Jun 2025), Quad Critical Minerals Initiative (1 Jul 2025)",
               "2025", "C"),
}

# --------------------------------------------------------------------------------------
PERIOD_LABELS = ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
Q1, Q2, Q3, Q4 = PERIOD_LABELS

# Materials (labels used throughout).
SC6 = "spodumene SC6"
LI2CO3 = "Li2CO3"
LEPIDOLITE = "lepidolite"
LIOH = "LiOH"
MTWELD_CONC = "Mt Weld concentrate"
MREC = "MREC"
BASTNAESITE = "bastnaesite concentrate"
IONIC_CLAY = "ionic-clay concentrate"
MONAZITE = "monazite"
NDPR = "NdPr oxide"
DYTB = "Dy/Tb oxide"
LATERITE = "laterite ore"
MHP = "MHP"
MS = "mixed sulphide"
COOH = "Co hydroxide"
NI = "battery nickel"
CO = "battery cobalt"
FLAKE = "flake graphite"
ANODE = "anode graphite"
GA_LIQUOR = "Ga in liquor"
GALLIUM = "gallium"

REE_MATERIALS = [NDPR, DYTB]

# Column order of every sheet, as in docs/workbook.md.
COLUMNS = {
    "Settings": ["setting", "value"],
    "Periods": ["period"],
    "Suppliers": ["supplier", "country", "material", "capacity_t", "unit_cost", "min_t",
                  "period"],
    "Sites": ["site", "country", "capacity_t"],
    "Processes": ["site", "process", "input_material", "output_material", "yield",
                  "cost_per_t", "capacity_t"],
    "Freight": ["from_country", "to_country", "material", "cost_per_t"],
    "Lanes": ["from", "to", "material", "cost_per_t", "max_t", "allowed"],
    "Stockpiles": ["stockpile", "country", "material", "initial_t", "capacity_t",
                   "min_level_t", "max_release_t", "release_cost", "holding_cost", "intake"],
    "Demand": ["customer", "country", "material", "period", "quantity_t", "unmet_penalty"],
    "Groups": ["group", "country"],
    "Limits": ["rule", "material", "stage", "by", "member", "customer", "period",
               "min_share", "max_share", "scenario"],
    "Restrictions": ["rule", "type", "material", "from", "to", "max_t", "period", "origin",
                     "via", "scenario"],
    "Options": ["option", "kind", "node", "material", "capacity_t", "fixed_cost",
                "first_period", "scenario"],
    "Scenarios": ["scenario", "sheet", "where", "column", "action", "value"],
    "Risks": ["event", "probability", "exclusive"],
}

# Sheet order in the workbook (the build script appends the Sources sheet).
SHEET_ORDER = ["Settings", "Periods", "Suppliers", "Sites", "Processes", "Freight", "Lanes",
               "Stockpiles", "Demand", "Groups", "Limits", "Restrictions", "Options",
               "Scenarios", "Risks"]

# Scenario names (the Scenarios sheet and the `scenario` cells of rules use these).
EMBARGO = "cn-ree-embargo"            # 2010-style Chinese rare-earth embargo on Japan
EMBARGO_RESERVE = "embargo+reserve"   # the same, with the Australian reserve released
US_GA_BAN = "us-ga-ban"               # China's US-bound gallium ban back in force
OCT25 = "cn-oct25-return"             # China's October-2025 controls back in force
RESERVE = "reserve-release"           # the Australian reserve released
TAX_OFFSET = "au-tax-offset"          # Australia's 10% processing tax offset
BATTERY = "jp-battery+20%"            # Japanese battery-material demand +20%
NO_JP_TARGET = "no-jp-target"         # Japan's 50% rare-earth target not applied
MY_LICENCE = "my-licence"             # Lynas Malaysia's operating licence restricted
PORT = "pilbara-port"                 # a cyclone closes Port Hedland for weeks
NEXT_PLANT = "next-plant"             # where should the next rare-earth plant go (Options)
EMBARGO_PLANT = "embargo+plant"       # the same question under the embargo

# Japan's target is a peacetime diversification target: it applies in these scenarios and
# is waived in an embargo (a 50% cap on the only remaining sources would only add shortage)
# and, to price it, in no-jp-target. A scenario added later must be added here to keep it.
JP_TARGET_SCENARIOS = ["base", US_GA_BAN, OCT25, RESERVE, TAX_OFFSET, BATTERY, MY_LICENCE,
                       PORT, NEXT_PLANT]


SETTINGS = [
    {"setting": "currency", "value": "USD"},
    # Blank: every Demand row below carries its own unmet_penalty instead.
    {"setting": "unmet_penalty", "value": None},
]

PERIODS = [{"period": p} for p in PERIOD_LABELS]


# --------------------------------------------------------------------------------------
# Suppliers
SUPPLIERS = [
    # ---- lithium
    # Greenbushes sells at the SC6 index: CIF China midpoint $776.5/t less $90/t freight
    # (the freight below) = ~$690/t at the mine. Take-or-pay: Kwinana's feed contract.
    {"supplier": "Greenbushes", "country": "AU", "material": SC6,
     "capacity_t": der(350_000, "greenbushes", "1.4 Mt/yr ÷ 4"),
     "unit_cost": der(690, "sc6-sep24+sc6-freight", "(750+803)/2 CIF China − $90 freight, "
                                                     "rounded"),
     "min_t": asm(15_000, "take-or-pay offtake, t SC6 per quarter")},
    {"supplier": "Pilgangoora", "country": "AU", "material": SC6,
     "capacity_t": der(250_000, "pilgangoora", "1.0 Mtpa ÷ 4"),
     "unit_cost": der(590, "sc6-may25+sc6-freight", "(670+685)/2 CIF China − $90 freight, "
                                                    "rounded")},
    # H2 2027: the H2 2025 auction level is assumed to apply (a period row overrides the
    # blank-period row for that quarter; capacity repeated so the row is complete).
    *[{"supplier": "Pilgangoora", "country": "AU", "material": SC6, "period": q,
       "capacity_t": der(250_000, "pilgangoora", "1.0 Mtpa ÷ 4"),
       "unit_cost": der(915, "sc6-auction+sc6-freight", "$1,005 auction − $90 freight; "
                                                        "assumed to hold in H2 2027")}
      for q in (Q3, Q4)],
    # Brine carbonate, t LCE. Capacity: the country's 2023 output (t Li × 5.323 t LCE per
    # t Li) ÷ 4; our buyers compete for it only through price.
    {"supplier": "CL-brine", "country": "CL", "material": LI2CO3,
     "capacity_t": der(58_550, "li-mine+li-factors", "44,000 t Li × 5.323 ÷ 4, rounded"),
     "unit_cost": rnd(9_000, "li2co3", "top of the $8,500-9,000/t range")},
    {"supplier": "AR-brine", "country": "AR", "material": LI2CO3,
     "capacity_t": der(12_775, "li-mine+li-factors", "9,600 t Li × 5.323 ÷ 4, rounded"),
     "unit_cost": rnd(9_000, "li2co3", "top of the $8,500-9,000/t range")},
    # Chinese lepidolite (Jiangxi), t concentrate of ~2.5% Li2O (assumed grade). Capacity:
    # half of China's 33,000 t Li (assumed lepidolite share) at 0.0093 t Li per t.
    {"supplier": "CN-lepidolite", "country": "CN", "material": LEPIDOLITE,
     "capacity_t": der(440_000, "li-mine", "33,000 t Li × 50% ÷ 0.0093 t Li/t ÷ 4, rounded; "
                                           "share and grade assumed"),
     "unit_cost": asm(250, "lepidolite concentrate price, $/t (no public figure found)")},

    # ---- rare earths (t REO)
    {"supplier": "Mt-Weld", "country": "AU", "material": MTWELD_CONC,
     "capacity_t": der(13_900, "mtweld", "12,000 t NdPr/yr ÷ 4 ÷ (0.90 × 0.24 t NdPr per "
                                         "t REO), rounded"),
     "unit_cost": asm(9_000, "transfer price of Mt Weld concentrate, $/t REO; sets the "
                             "Lynas route above Chinese NdPr (the ex-China premium)")},
    {"supplier": "Mountain-Pass", "country": "US", "material": BASTNAESITE,
     "capacity_t": der(11_364, "mp", "45,455 t REO/yr ÷ 4"),
     "unit_cost": asm(7_500, "bastnaesite concentrate, $/t REO (same basis as Bayan Obo)")},
    {"supplier": "CN-Bayan-Obo", "country": "CN", "material": BASTNAESITE,
     "capacity_t": der(67_500, "cn-ree", "270,000 t REO/yr ÷ 4"),
     "unit_cost": asm(7_500, "$/t REO; calibrated so that Baotou NdPr costs $50,000/t, the "
                             "China price (ndpr-cn)", "ndpr-cn")},
    {"supplier": "MM-ionic-clay", "country": "MM", "material": IONIC_CLAY,
     "capacity_t": der(7_750, "mm-ree", "31,000 t REO/yr ÷ 4"),
     "unit_cost": asm(15_000, "heavy-rare-earth-rich feed, $/t REO")},
    # Iluka's Eneabba monazite stockpile feeds the refinery only from 2027-Q3 (commissioning
    # 2027): period rows for Q3 and Q4 only, so the supplier sells nothing in Q1-Q2.
    *[{"supplier": "Iluka-monazite", "country": "AU", "material": MONAZITE, "period": q,
       "capacity_t": asm(1_500, "commissioning ramp: ~50% of the low end of 12,100 t/yr ÷ 4",
                         "eneabba"),
       "unit_cost": asm(2_000, "own stockpiled monazite, $/t REO")}
      for q in (Q3, Q4)],

    # ---- nickel and cobalt
    # Indonesian limonite for HPAL, t dry ore (1.3% Ni assumed); unlimited at this scale.
    {"supplier": "ID-laterite", "country": "ID", "material": LATERITE, "capacity_t": None,
     "unit_cost": asm(25, "limonite ore $/t (no public Indonesian benchmark found)", "id-ni")},
    # Philippine HPAL mixed sulphide (SMM), t MS at 55% Ni.
    # Both are SMM's: their output is captive to SMM's Niihama refinery (Lanes), at cost.
    {"supplier": "Coral-Bay", "country": "PH", "material": MS,
     "capacity_t": der(9_090, "coral-bay+ms", "20,000 t Ni ÷ 0.55 ÷ 4, rounded"),
     "unit_cost": asm(3_500, "SMM's own HPAL output at cost, $/t MS (≈$6,400/t Ni)")},
    {"supplier": "Taganito", "country": "PH", "material": MS,
     "capacity_t": der(13_640, "taganito+ms", "30,000 t Ni ÷ 0.55 ÷ 4, rounded"),
     "unit_cost": asm(3_500, "as Coral Bay")},
    # Murrin Murrin (Glencore): integrated HPAL + refinery, Ni and Co briquettes.
    {"supplier": "Murrin-Murrin", "country": "AU", "material": NI,
     "capacity_t": der(7_775, "murrin", "31,100 t Ni ÷ 4"),
     "unit_cost": rnd(14_300, "ni-price", "LME nickel, late 2025, rounded")},
    {"supplier": "Murrin-Murrin", "country": "AU", "material": CO,
     "capacity_t": der(525, "murrin", "2,100 t Co ÷ 4"),
     "unit_cost": der(58_900, "co-hydroxide+co-payable", "$25/lb = $55,116/t ÷ 0.935 "
                                                         "payable, rounded")},
    # DRC cobalt hydroxide, t Co contained: CMOC alone could ship more than the national
    # export quota (Restrictions).
    {"supplier": "CMOC-TFM-KFM", "country": "CD", "material": COOH,
     "capacity_t": der(28_540, "cmoc", "114,165 t Co ÷ 4, rounded"),
     "unit_cost": der(55_100, "co-hydroxide", "$25/lb × 2,204.6 lb/t, rounded")},

    # ---- graphite
    {"supplier": "Balama", "country": "MZ", "material": FLAKE,
     "capacity_t": der(69_000, "balama", "276 ktpa run-rate ÷ 4"),
     "unit_cost": pub(625, "balama", "realised price Q3 2025")},
    {"supplier": "CN-flake", "country": "CN", "material": FLAKE,
     "capacity_t": der(312_000, "graphite-cn", "1.6 Mt × 78% ÷ 4, rounded"),
     "unit_cost": rnd(460, "flake", "midpoint of $450-470/t")},

    # ---- gallium
    {"supplier": "CN-gallium", "country": "CN", "material": GALLIUM,
     "capacity_t": der(187.5, "ga-cn", "750 t/yr ÷ 4"),
     "unit_cost": rnd(425_000, "ga-price", "midpoint of $400-450/kg, export price")},
    # Alcoa's Wagerup alumina refinery: gallium in the Bayer liquor, limited by the gallium
    # plant's capacity (Sites), so no capacity here.
    {"supplier": "Alcoa-Wagerup", "country": "AU", "material": GA_LIQUOR, "capacity_t": None,
     "unit_cost": asm(100_000, "value of gallium in liquor, $/t Ga")},
]


# --------------------------------------------------------------------------------------
# Sites (capacity = t of input per quarter, all processes together)
SITES = [
    {"site": "Kwinana", "country": "AU",
     "capacity_t": der(40_000, "kwinana+li-factors", "24,000 t LiOH/yr ÷ 4 ÷ 0.15 t LiOH "
                                                     "per t SC6")},
    {"site": "Kemerton", "country": "AU",
     "capacity_t": pub(0, "kemerton", "idle since Feb 2026 (nameplate 50 ktpa LiOH)")},
    {"site": "CN-converter-Sichuan", "country": "CN",
     "capacity_t": asm(120_000, "one large spodumene/carbonate converter, t input per quarter",
                       "li-refining")},
    {"site": "CN-converter-Jiangxi", "country": "CN",
     "capacity_t": asm(300_000, "lepidolite converters, t input per quarter", "li-refining")},

    {"site": "Lynas-Kalgoorlie", "country": "AU",
     "capacity_t": der(10_400, "kalgoorlie", "9,000 t NdPr/yr ÷ 4 ÷ 0.216 t NdPr per t REO, "
                                             "rounded")},
    {"site": "Lynas-Malaysia", "country": "MY",
     "capacity_t": der(11_000, "lynas-my", "10,500 t NdPr/yr ÷ 4 ÷ 0.24, rounded")},
    {"site": "Eneabba", "country": "AU",
     "capacity_t": der(3_025, "eneabba", "12,100 t REO/yr ÷ 4 (low end)")},
    # A Japanese separator of Australian MREC, a candidate only (Options, next-plant).
    {"site": "JP-separator", "country": "JP",
     "capacity_t": asm(0, "not built: the next-plant scenario's option may build it")},
    {"site": "La-Rochelle", "country": "FR",
     "capacity_t": asm(1_000, "4,000 t REO/yr ÷ 4, within the 2,000-5,000 t range",
                       "la-rochelle")},
    {"site": "Silmet", "country": "EE",
     "capacity_t": der(750, "silmet", "3,000 t/yr ÷ 4")},
    {"site": "CN-separator-Baotou", "country": "CN",
     "capacity_t": asm(20_000, "light rare-earth separation, t REO per quarter")},
    {"site": "CN-separator-Ganzhou", "country": "CN",
     "capacity_t": asm(8_000, "ionic-clay (heavy) separation, t REO per quarter")},

    {"site": "QMB-Morowali", "country": "ID",
     "capacity_t": der(2_068_000, "qmb", "100,000 t Ni/yr ÷ 4 ÷ (1.3% × 93%) t Ni per t ore, "
                                         "rounded")},
    {"site": "HPL-Obi", "country": "ID",
     "capacity_t": der(770_000, "hpl", "37,260 t Ni/yr ÷ 4 ÷ (1.3% × 93%), rounded")},
    {"site": "Niihama", "country": "JP",
     "capacity_t": der(30_000, "niihama+ms", "65,000 t Ni/yr ÷ 4 ÷ (0.55 × 0.98) t Ni per t "
                                             "MS, rounded")},
    {"site": "CN-refiner", "country": "CN",
     "capacity_t": asm(3_000_000, "nickel/cobalt refinery complex incl. an HPAL line, "
                                  "t input per quarter")},

    {"site": "Vidalia", "country": "US",
     "capacity_t": der(6_250, "vidalia", "11,250 t anode/yr ÷ 4 ÷ 0.45 t anode per t flake")},
    {"site": "CN-spheroidiser", "country": "CN",
     "capacity_t": asm(200_000, "spheroidising and purification, t flake per quarter")},

    {"site": "Wagerup-gallium", "country": "AU",
     "capacity_t": der(27.8, "wagerup", "100 t Ga/yr ÷ 4 ÷ 0.90 recovery, rounded")},
]


# --------------------------------------------------------------------------------------
# Processes (cost per t of input; rows sharing a `process` name are co-products)
def _proc(site, process, inp, out, yield_, cost, capacity=None):
    row = {"site": site, "process": process, "input_material": inp, "output_material": out,
           "yield": yield_, "cost_per_t": cost}
    if capacity is not None:
        row["capacity_t"] = capacity
    return row


_SC6_TO_LIOH = der(0.15, "li-factors", "6.6-7.0 t SC6 per t LiOH·H2O -> 1/6.67")
_LI2CO3_TO_LIOH = der(1.10, "li-factors", "1.135 t LiOH·H2O per t LCE × 97% recovery "
                                          "(assumed), rounded")
_NDPR_FROM_MREC = der(0.24, "ree-yields", "NdPr ≈25% of TREO × ~95% recovery, rounded")
_CRACKING = asm(0.90, "concentrate -> MREC recovery (within 75-95%)", "ree-yields")
_NDPR_FROM_BAST = asm(0.15, "NdPr ≈16% of bastnaesite TREO × 95% recovery")
_MHP_TO_NI = der(0.382, "mhp", "39% Ni × 98% recovery (assumed)")
_MHP_TO_CO = der(0.0456, "mhp", "4.8% Co × 95% recovery (assumed)")
_MS_TO_NI = der(0.539, "ms", "55% Ni × 98% recovery (assumed)")
_MS_TO_CO = der(0.0366, "ms", "55% × 700/10,000 = 3.85% Co × 95% recovery (assumed)")
_COOH_TO_CO = asm(0.97, "hydroxide -> sulphate recovery")
_SPHEROIDISING = asm(0.45, "flake -> spherical purified graphite yield")

PROCESSES = [
    # ---- lithium
    _proc("Kwinana", "conversion", SC6, LIOH, _SC6_TO_LIOH,
          der(330, "li-conv-cost+li-factors", "$2,500/t LCE × 0.88 t LCE per t LiOH × 0.15")),
    _proc("Kemerton", "conversion", SC6, LIOH, _SC6_TO_LIOH,
          der(330, "li-conv-cost+li-factors", "as Kwinana")),
    _proc("CN-converter-Sichuan", "conversion", SC6, LIOH, _SC6_TO_LIOH,
          der(370, "cn-toll+li-factors", "¥20,000/t LCE ≈ $2,800 × 0.88 × 0.15, rounded "
                                         "(¥7.1 per $ assumed)")),
    _proc("CN-converter-Sichuan", "causticisation", LI2CO3, LIOH, _LI2CO3_TO_LIOH,
          rnd(1_250, "carb-hydrox", "midpoint of $1,000-1,500/t")),
    _proc("CN-converter-Jiangxi", "lepidolite conversion", LEPIDOLITE, LIOH,
          der(0.056, "li-factors", "2.5% Li2O × 2.473 × 80% recovery × 1.135; grade and "
                                   "recovery assumed"),
          asm(300, "roasting and leaching, $/t lepidolite")),

    # ---- rare earths: the Lynas route is crack (AU) then separate (MY)
    _proc("Lynas-Kalgoorlie", "cracking", MTWELD_CONC, MREC, _CRACKING,
          asm(1_200, "cracking and leaching, $/t REO input")),
    # One process, two co-products: every t of MREC yields NdPr AND Dy/Tb.
    _proc("Lynas-Malaysia", "separation", MREC, NDPR, _NDPR_FROM_MREC,
          asm(3_200, "separation incl. residue management, $/t REO input")),
    _proc("Lynas-Malaysia", "separation", MREC, DYTB,
          asm(0.004, "Dy+Tb ≈0.4% of Mt Weld TREO; HREE circuit since May 2025", "lynas-my"),
          asm(3_200, "as above (one process)")),
    _proc("JP-separator", "separation", MREC, NDPR, _NDPR_FROM_MREC,
          asm(3_800, "Lynas Malaysia's $3,200/t + Japanese costs, $/t REO input")),
    _proc("JP-separator", "separation", MREC, DYTB,
          asm(0.004, "as Lynas Malaysia (Mt Weld MREC)", "lynas-my"),
          asm(3_800, "as above (one process)")),
    _proc("Eneabba", "refining", MONAZITE, NDPR,
          asm(0.20, "NdPr from monazite, t per t REO", "eneabba"),
          asm(9_000, "cracking + separation incl. radioactive residue, $/t REO input")),
    _proc("Eneabba", "refining", MONAZITE, DYTB,
          asm(0.006, "Dy/Tb from monazite, t per t REO", "eneabba"),
          asm(9_000, "as above (one process)")),
    _proc("La-Rochelle", "crack+separate", BASTNAESITE, NDPR, _NDPR_FROM_BAST,
          asm(6_000, "European separation, $/t REO input; lands NdPr near the Europe price",
              "ndpr-eu")),
    _proc("Silmet", "crack+separate", BASTNAESITE, NDPR, _NDPR_FROM_BAST,
          asm(5_000, "$/t REO input; lands NdPr near the Europe price", "ndpr-eu")),
    _proc("CN-separator-Baotou", "crack+separate", BASTNAESITE, NDPR,
          asm(0.18, "Bayan Obo NdPr ≈19% of TREO × 95%"),
          asm(1_500, "$/t REO input")),
    _proc("CN-separator-Ganzhou", "crack+separate", IONIC_CLAY, NDPR,
          asm(0.20, "NdPr from HREE-rich ionic clay, t per t REO"),
          asm(2_500, "$/t REO input")),
    _proc("CN-separator-Ganzhou", "crack+separate", IONIC_CLAY, DYTB,
          asm(0.04, "Dy+Tb ≈4% of ionic-clay TREO"),
          asm(2_500, "as above (one process)")),

    # ---- nickel and cobalt
    *[_proc(site, "HPAL", LATERITE, MHP,
            der(0.031, "mhp", "1.3% Ni (assumed) × 93% recovery (assumed) ÷ 39% Ni in MHP"),
            asm(cost, "HPAL operating cost, $/t ore" + note))
      for site, cost, note in (("QMB-Morowali", 80, ""),
                               ("HPL-Obi", 85, " (smaller plant, assumed dearer)"))],
    _proc("Niihama", "MHP refining", MHP, NI, _MHP_TO_NI,
          asm(2_000, "$/t MHP (≈$5,200/t Ni)", "")),
    _proc("Niihama", "MHP refining", MHP, CO, _MHP_TO_CO, asm(2_000, "as above")),
    _proc("Niihama", "MS refining", MS, NI, _MS_TO_NI,
          asm(1_700, "$/t MS (≈$3,200/t Ni; SMM's established sulphide route)")),
    _proc("Niihama", "MS refining", MS, CO, _MS_TO_CO, asm(1_700, "as above")),
    _proc("Niihama", "cobalt refining", COOH, CO, _COOH_TO_CO,
          asm(3_000, "$/t Co"),
          der(1_125, "niihama", "4,500 t Co/yr ÷ 4")),
    _proc("CN-refiner", "MHP refining", MHP, NI, _MHP_TO_NI,
          asm(1_600, "$/t MHP (≈$4,200/t Ni; cf. the ¥111,000/t breakeven)", "")),
    _proc("CN-refiner", "MHP refining", MHP, CO, _MHP_TO_CO, asm(1_600, "as above")),
    _proc("CN-refiner", "MS refining", MS, NI, _MS_TO_NI, asm(1_800, "$/t MS")),
    _proc("CN-refiner", "MS refining", MS, CO, _MS_TO_CO, asm(1_800, "as above")),
    _proc("CN-refiner", "cobalt refining", COOH, CO, _COOH_TO_CO, asm(2_500, "$/t Co")),
    # The route the Indonesian ban closed: ore shipped to a Chinese HPAL + refinery line.
    _proc("CN-refiner", "HPAL+refining", LATERITE, NI,
          der(0.0118, "mhp", "1.3% Ni × 93% × 98%, rounded"),
          asm(180, "HPAL + refining in China, $/t ore")),
    _proc("CN-refiner", "HPAL+refining", LATERITE, CO,
          asm(0.0011, "0.13% Co × 90% × 95%, rounded"), asm(180, "as above")),

    # ---- graphite
    _proc("Vidalia", "spheroidise+coat", FLAKE, ANODE, _SPHEROIDISING,
          asm(1_800, "US active-anode processing, $/t flake")),
    _proc("CN-spheroidiser", "spheroidise+purify", FLAKE, ANODE, _SPHEROIDISING,
          der(370, "spg+flake", "set so that ($460 + cost) ÷ 0.45 ≈ $1,844/t, within "
                                "$1,700-2,000/t FOB China")),

    # ---- gallium
    _proc("Wagerup-gallium", "extraction", GA_LIQUOR, GALLIUM,
          asm(0.90, "gallium recovery from liquor"),
          asm(350_000, "extraction and refining to 4N, $/t Ga input; puts Wagerup above the "
                       "Chinese export price")),
]


# --------------------------------------------------------------------------------------
# Freight (country to country, $/t). Assumed rates unless noted: ~$20-40/t within Asia
# (scaled by distance from bulk rates to China), more for long hauls; container costs
# for oxides and metals.
def _fr(a, b, cost, material=None):
    row = {"from_country": a, "to_country": b, "cost_per_t": cost}
    if material:
        row["material"] = material
    return row


def _short(v):
    return asm(v, "short-sea rate", "freight-asia")


def _long(v):
    return asm(v, "long-haul rate", "freight-asia")


FREIGHT = [
    _fr("AU", "CN", pub(90, "sc6-freight", "Port Hedland -> China, Apr 2023"), SC6),
    _fr("AU", "CN", _short(30)), _fr("AU", "JP", _short(35)), _fr("AU", "KR", _short(40)),
    _fr("AU", "MY", _short(30)), _fr("AU", "US", _long(60)), _fr("AU", "EE", _long(70)),
    _fr("MY", "JP", _short(30)), _fr("MY", "EE", _long(60)),
    _fr("CN", "JP", _short(25)), _fr("CN", "KR", _short(20)), _fr("CN", "US", _long(50)),
    _fr("CN", "EE", _long(60)),
    # Chinese anode material into the US pays the preliminary AD/CVD duties.
    _fr("CN", "US", der(1_901, "adcvd+spg", "$50 freight + (93.5% + 6.55%) × $1,850"), ANODE),
    _fr("US", "CN", _long(50)), _fr("US", "FR", _long(50)), _fr("US", "EE", _long(55)),
    _fr("US", "JP", _long(60)), _fr("US", "KR", _long(60)),
    _fr("MM", "CN", _short(40)),
    _fr("FR", "JP", _long(70)), _fr("FR", "EE", _short(25)), _fr("EE", "JP", _long(70)),
    _fr("CL", "CN", _long(60)), _fr("AR", "CN", _long(65)),
    _fr("ID", "CN", asm(15, "bulk ore and MHP, Supramax-like", "freight-bulk")),
    _fr("ID", "JP", _short(25)),
    _fr("PH", "JP", _short(20)), _fr("PH", "CN", _short(15)),
    _fr("CD", "CN", asm(150, "overland to Dar es Salaam/Durban + sea", "freight-bulk")),
    _fr("CD", "JP", asm(160, "overland to Dar es Salaam/Durban + sea", "freight-bulk")),
    _fr("MZ", "US", _long(70)), _fr("MZ", "CN", asm(45, "Nacala -> China", "freight-bulk")),
    _fr("JP", "KR", _short(15)),
    # No other pairs: no arc. E.g. Myanmar feed goes to China only; nothing leaves the
    # Japanese stockpile for abroad; nothing is shipped into Australia, so the Australian
    # reserve refills from Australian output only (Eneabba). Domestic legs cost 0.
]


# --------------------------------------------------------------------------------------
LANES = [
    # Feed to Kwinana: Greenbushes is ~250 km by road; Pilgangoora ships from Port Hedland
    # (domestic legs would otherwise cost 0).
    {"from": "Greenbushes", "to": "Kwinana", "material": SC6,
     "cost_per_t": asm(15, "road haulage, $/t")},
    {"from": "Pilgangoora", "to": "Kwinana", "material": SC6,
     "cost_per_t": asm(45, "coastal shipping Port Hedland -> Kwinana, $/t")},
    # Vidalia runs on Balama flake (Syrah's own chain, and 45X rules on Chinese inputs):
    # Chinese flake may not go there.
    {"from": "CN-flake", "to": "Vidalia", "allowed": "no"},
    # SMM's Philippine HPALs ship their mixed sulphide to SMM's Niihama refinery only.
    {"from": "Coral-Bay", "to": "CN-refiner", "allowed": "no"},
    {"from": "Taganito", "to": "CN-refiner", "allowed": "no"},
]


# --------------------------------------------------------------------------------------
# Stockpiles. Both hold Dy/Tb oxide, the scarcest magnet input. Releases are on-sold at
# the ex-China market price (release_cost), so they are drawn only when nothing cheaper
# is left; holding cost ≈ 2%/yr of that value per quarter.
_DYTB_EX_CHINA = der(1_280_000, "dytb-eu", "80:20 Dy:Tb blend of $850/kg and $3,000/kg "
                                            "(range midpoints)")
_DYTB_HOLDING = der(6_400, "dytb-eu", "2%/yr (assumed) × $1.28 M ÷ 4")
# Japanese buyers' Dy/Tb use: 81 t per quarter (Demand below) = 324 t a year.
STOCKPILES = [
    # Australian Critical Minerals Strategic Reserve, Dy/Tb. Base: held (floor = initial
    # holding); the reserve scenarios lower the floor to 0.
    {"stockpile": "AU-reserve", "country": "AU", "material": DYTB,
     "initial_t": asm(30, "A$185m stockpiling ≈ US$120m, a third in Dy/Tb at $1.28 M/t "
                          "≈ 31 t, rounded", "cmsr"),
     "capacity_t": asm(60, "room to double the holding", "cmsr"),
     "min_level_t": asm(30, "held in base: floor = initial holding", "cmsr"),
     "max_release_t": asm(10, "release cap, t per quarter", "cmsr"),
     "release_cost": _DYTB_EX_CHINA, "holding_cost": _DYTB_HOLDING, "intake": "yes"},
    # JOGMEC-style stockpile: floor = 60 days of the Japanese buyers' use, held at 90 days.
    {"stockpile": "JOGMEC-DyTb", "country": "JP", "material": DYTB,
     "initial_t": asm(79.9, "90 days × 324 t/yr ÷ 365 (levels undisclosed)", "jogmec"),
     "capacity_t": der(159.8, "jogmec", "180 days × 324 t/yr ÷ 365"),
     "min_level_t": der(53.3, "jogmec", "60 days × 324 t/yr ÷ 365"),
     "max_release_t": asm(15, "release cap, t per quarter", "jogmec"),
     "release_cost": _DYTB_EX_CHINA, "holding_cost": _DYTB_HOLDING, "intake": "yes"},
]


# --------------------------------------------------------------------------------------
# Demand: the same quantity every quarter. Japanese battery materials are 40% (assumed
# 2027 build-out) of the BASC needs for 150 GWh in 2030, per quarter; Korean buyers are
# assumed 20% larger. unmet_penalty ≈ 4× a reference price (the cost of lost production or
# emergency cover; assumed) so that shortages show as unmet tonnes, not infeasibility.
PENALTY = {
    LIOH: asm(40_000, "≈4× $9,000/t carbonate-equivalent price", "li2co3"),
    NI: asm(60_000, "≈4× $14,295/t LME nickel", "ni-price"),
    CO: asm(220_000, "≈4× $55,100/t cobalt", "co-hydroxide"),
    ANODE: asm(8_000, "≈4× $1,850/t spherical graphite", "spg"),
    NDPR: asm(220_000, "2× the $110/kg NdPr floor", "ndpr-floor"),
    DYTB: asm(5_000_000, "≈4× $1.28 M/t ex-China Dy/Tb", "dytb-eu"),
    GALLIUM: asm(1_700_000, "≈4× $425/kg gallium", "ga-price"),
}

_ORDERS = [
    # customer, country, material, t per quarter
    ("JP-cathode", "JP", LIOH,
     der(11_350, "bat-demand+li-factors", "100 kt Li read as LCE × 1.135 × 40% ÷ 4")),
    ("JP-cathode", "JP", NI, der(9_000, "bat-demand", "90 kt Ni × 40% ÷ 4")),
    ("JP-cathode", "JP", CO, der(1_750, "bat-demand-global", "9,000 t Ni × 60/310 Co:Ni, "
                                                             "rounded")),
    ("KR-cathode", "KR", LIOH, asm(13_620, "1.2 × the Japanese cathode maker")),
    ("KR-cathode", "KR", NI, asm(10_800, "1.2 × the Japanese cathode maker")),
    ("KR-cathode", "KR", CO, asm(2_100, "1.2 × the Japanese cathode maker")),
    ("JP-anode", "JP", ANODE, der(15_000, "bat-demand", "150 kt graphite × 40% ÷ 4")),
    ("KR-anode", "KR", ANODE, asm(18_000, "1.2 × the Japanese anode maker")),
    ("US-cell-maker", "US", ANODE, der(2_000, "vidalia", "Tesla 8 ktpa offtake ÷ 4")),
    # Japan's sintered-magnet makers (Shin-Etsu's Takefu works and the others) as one buyer,
    # so that Japan's national target applies to all of them together. Dy/Tb: JARE's 65% of
    # Lynas' Dy/Tb (24.3 t a quarter, see Restrictions) ≈ 30% of Japan's HREE demand.
    ("JP-magnet-makers", "JP", NDPR, asm(1_000, "NdPr for Japanese sintered NdFeB, t per "
                                                "quarter", "magnet-demand")),
    ("JP-magnet-makers", "JP", DYTB, der(81, "jare", "24.3 t ÷ 0.30")),
    ("Neo-Narva", "EE", NDPR, der(150, "silmet", "2,000 t magnets/yr × 30% NdPr (assumed) "
                                                 "÷ 4")),
    ("Neo-Narva", "EE", DYTB, der(3, "silmet", "2,000 t magnets/yr × 0.6% Dy/Tb (assumed) "
                                               "÷ 4")),
    ("JP-semis", "JP", GALLIUM, asm(20, "Japanese compound-semiconductor makers, t per "
                                        "quarter", "ga-demand")),
    ("US-semis", "US", GALLIUM, asm(5, "a US chip maker, t per quarter", "ga-demand")),
]

DEMAND = [{"customer": c, "country": k, "material": m, "period": p, "quantity_t": q,
           "unmet_penalty": PENALTY[m]}
          for c, k, m, q in _ORDERS for p in PERIOD_LABELS]


# --------------------------------------------------------------------------------------
GROUPS = [{"group": "Allies", "country": c}
          for c in ("AU", "JP", "KR", "US", "CA", "GB", "FR", "DE", "IT", "EE", "IN")] + [
    # The IRA's "covered nations", whose entities are foreign entities of concern.
    {"group": "FEOC", "country": c} for c in ("CN", "RU", "KP", "IR")]


# --------------------------------------------------------------------------------------
# Limits (period `all` = the whole year, as the policies count annual consumption)
_EU_CAP = pub(0.65, "crma", "≤65% from one third country")
_JP_CAP = pub(0.50, "jp-target", "≤50% from any single country")

LIMITS = [
    # EU CRMA for the EU buyer: each third country at most 65% of what Neo's Narva plant
    # receives, per material (NdPr, Dy/Tb), counted at the separation stage (the shipping
    # separator's country). EU members (FR, EE) are not capped, hence one row per country.
    *[{"rule": f"EU CRMA 65%: {c}", "material": None, "stage": "delivery", "by": "country",
       "member": c, "customer": "Neo-Narva", "period": None, "max_share": _EU_CAP}
      for c in ("CN", "MY", "AU")],
    # Japan's target: no single country above 50% of the NdPr Japan's magnet makers receive,
    # each quarter (member blank = every country separately). The target counts rare earths
    # by volume, which NdPr dominates; Dy/Tb is left to the licences, JARE and stockpiles.
    {"rule": "JP REE 50%", "material": NDPR, "stage": "delivery", "by": "country",
     "member": None, "customer": "JP-magnet-makers", "period": None, "max_share": _JP_CAP,
     "scenario": ";".join(JP_TARGET_SCENARIOS)},
    # In no-jp-target the same row at 100% never constrains but reports each country's share
    # of Japan's NdPr over the year on the Limits sheet (and names the scenario).
    {"rule": "JP REE share (monitor)", "material": NDPR, "stage": "delivery",
     "by": "country", "member": None, "customer": "JP-magnet-makers", "period": "all",
     "max_share": asm(1.0, "monitor only: a share can never exceed 100%"),
     "scenario": NO_JP_TARGET},
    # Japan's target read by where the NdPr was mined rather than who shipped it: a monitor
    # (100% never binds) that puts the origin of Japan's NdPr on the Provenance sheet.
    {"rule": "JP NdPr origin (monitor)", "material": NDPR, "stage": "origin",
     "by": "country", "member": None, "customer": "JP-magnet-makers", "period": "all",
     "max_share": asm(1.0, "monitor only: a share can never exceed 100%")},
    # US 45X prohibited-foreign-entity rule for the US cell maker's anode material, encoded
    # as: all of it shipped from Allied countries.
    {"rule": "US 45X anode from Allies", "material": ANODE, "stage": "delivery",
     "by": "group", "member": "Allies", "customer": "US-cell-maker", "period": None,
     "min_share": asm(1.0, "no FEOC-made anode material (reading of the PFE rule)", "45x")},
]


# --------------------------------------------------------------------------------------
# Where should the next rare-earth plant go: Iluka's Eneabba at its high end, or a new
# Japanese separator of Kalgoorlie's MREC. Fixed costs are a year's share of the capital
# (10-year life, no interest, A$1 = US$0.65: assumptions).
OPTIONS = [
    {"option": "Eneabba to 18,400 t/yr", "kind": "site", "node": "Eneabba",
     "capacity_t": der(1_575, "eneabba", "(18,400 - 12,100) t REO/yr ÷ 4"),
     "fixed_cost": der(38_900_000, "eneabba", "A$1.75bn × 6,300/18,400 × 0.65 US$/A$ ÷ 10 "
                                              "years (life and rate assumed)"),
     "first_period": "2027-Q3", "scenario": f"{NEXT_PLANT};{EMBARGO_PLANT}"},
    {"option": "JP separator 2,500 t/q", "kind": "site", "node": "JP-separator",
     "capacity_t": asm(2_500, "t REO per quarter, a quarter of Lynas Malaysia"),
     "fixed_cost": asm(52_000_000, "A$800m (Kalgoorlie's cost) × 0.65 ÷ 10 years",
                       "kalgoorlie"),
     "first_period": "2027-Q2", "scenario": f"{NEXT_PLANT};{EMBARGO_PLANT}"},
]


# --------------------------------------------------------------------------------------
RESTRICTIONS = [
    {"rule": "ID nickel-ore export ban", "type": "ban", "material": LATERITE, "from": "ID"},
    {"rule": "DRC cobalt export quota", "type": "quota", "material": COOH, "from": "CD",
     "max_t": der(24_150, "drc-quota", "96,600 t/yr ÷ 4")},
    # April-2025 licensing: licences are assumed to cover 80 t a quarter for these buyers.
    {"rule": "CN Dy/Tb licences (Apr 2025)", "type": "quota", "material": DYTB, "from": "CN",
     "max_t": asm(80, "licensed Dy/Tb exports available to these buyers, t per quarter",
                  "cn-apr25")},
    # JARE (Sojitz + JOGMEC) has priority access to up to 65% of Mt Weld's Dy/Tb: at most
    # that much of Lynas Malaysia's Dy/Tb goes to Japan (a contract, written as a quota).
    {"rule": "JARE share of Lynas Dy/Tb", "type": "quota", "material": DYTB,
     "from": "Lynas-Malaysia", "to": "JP",
     "max_t": der(24.3, "jare+kalgoorlie", "65% × 9,360 t MREC (Kalgoorlie 10,400 t × 0.90) "
                                          "× 0.004 t Dy/Tb per t, rounded")},
    # A 2010-style embargo, assumed to last the whole year.
    *[{"rule": f"CN embargo on JP: {m}", "type": "ban", "material": m, "from": "CN",
       "to": "JP", "scenario": f"{EMBARGO};{EMBARGO_RESERVE};{EMBARGO_PLANT}"}
      for m in REE_MATERIALS],
    # IRA 30D: no critical mineral "extracted, processed, or recycled by a foreign entity
    # of concern" in the battery: nothing mined or processed in a covered nation may reach
    # the US cell maker, whoever ships it last (the 45X row above sees only the shipper).
    {"rule": "US FEOC: anode (IRA 30D)", "type": "ban", "material": ANODE,
     "to": "US-cell-maker", "via": pub("FEOC", "feoc", "extracted, processed or recycled "
                                                       "by a FEOC")},
    {"rule": "CN gallium ban to US (Dec 2024)", "type": "ban", "material": GALLIUM,
     "from": "CN", "to": "US", "scenario": US_GA_BAN},
    # October-2025 controls back: the 0.1% foreign-direct-product rule and stricter reviews
    # cut Dy/Tb licences to the autumn-2025 approval rate; synthetic-anode controls take the
    # synthetic half (assumed) of Chinese anode graphite out of the export market.
    {"rule": "CN Oct-2025 controls: Dy/Tb", "type": "quota", "material": DYTB, "from": "CN",
     "max_t": der(10.8, "eu-licences+cn-oct25", "80 t × 19/141, rounded"),
     "scenario": OCT25},
    {"rule": "CN Oct-2025 controls: anode", "type": "quota", "material": ANODE, "from": "CN",
     "max_t": asm(16_500, "half of the Japanese and Korean anode makers' 33,000 t a quarter",
                  "cn-oct25"),
     "scenario": OCT25},
]


# --------------------------------------------------------------------------------------
def _change(scenario, sheet, where, column, action, value):
    return {"scenario": scenario, "sheet": sheet, "where": where, "column": column,
            "action": action, "value": value}


_AU_SITES = ("Kwinana", "Kemerton", "Lynas-Kalgoorlie", "Eneabba", "Wagerup-gallium")
_OFFSET = pub(0.9, "cmpti", "cost × (1 − 10%)")
_BATTERY_UP = asm(1.2, "Japanese battery-material demand +20%")

SCENARIOS = [
    *[_change(s, "Stockpiles", "stockpile=AU-reserve", "min_level_t", "set",
              asm(0, "the whole holding may be on-sold", "cmsr"))
      for s in (RESERVE, EMBARGO_RESERVE)],
    *[_change(TAX_OFFSET, "Processes", f"site={s}", "cost_per_t", "multiply", _OFFSET)
      for s in _AU_SITES],
    *[_change(BATTERY, "Demand", f"country=JP;material={m}", "quantity_t", "multiply",
              _BATTERY_UP)
      for m in (LIOH, NI, CO, ANODE)],
    _change(MY_LICENCE, "Sites", "site=Lynas-Malaysia", "capacity_t", "multiply",
            asm(0.5, "licence conditions halve the plant's throughput for the year",
                "lynas-licence")),
    _change(PORT, "Suppliers", "supplier=Pilgangoora", "capacity_t", "multiply",
            asm(0.75, "about three weeks of a quarter's shipments lost", "port-hedland")),
]

# Disruption events for `planner stress`. China's two escalations are alternatives (one
# or the other, not both, in a year); the others are independent of them.
RISKS = [
    {"event": EMBARGO, "probability": der(0.06, "embargo-2010",
                                          "one such embargo (2010) in the 16 years to 2026"),
     "exclusive": "cn-escalation"},
    {"event": OCT25, "probability": asm(0.3, "the suspension ends 10 Nov 2026 and is not "
                                              "renewed for 2027", "cn-oct25"),
     "exclusive": "cn-escalation"},
    {"event": MY_LICENCE, "probability": asm(0.05, "a licence restriction within the year",
                                             "lynas-licence")},
    {"event": PORT, "probability": asm(0.15, "a cyclone closure of several weeks within the "
                                             "year", "port-hedland")},
]


SHEETS = {
    "Settings": SETTINGS,
    "Periods": PERIODS,
    "Suppliers": SUPPLIERS,
    "Sites": SITES,
    "Processes": PROCESSES,
    "Freight": FREIGHT,
    "Lanes": LANES,
    "Stockpiles": STOCKPILES,
    "Demand": DEMAND,
    "Groups": GROUPS,
    "Limits": LIMITS,
    "Restrictions": RESTRICTIONS,
    "Options": OPTIONS,
    "Scenarios": SCENARIOS,
    "Risks": RISKS,
}
