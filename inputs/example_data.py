"""Data of the example input workbook `inputs/example.xlsx`.

A small but realistic plan for Japanese buyers over two quarters:

* a lithium chain: Australian (Greenbushes, Pilgangoora) and Chinese spodumene
  SC6 -> lithium hydroxide at Kwinana (AU) or a Chinese converter -> a Japanese
  cathode maker;
* a rare-earth chain: Mt Weld (AU) concentrate -> cracking to MREC at Lynas
  Kalgoorlie (AU) -> separation at Lynas Malaysia (MY, NdPr oxide and Dy/Tb oxide
  as co-products) or at a Japanese separator (JP) -> Japanese magnet makers, with
  Chinese concentrate, Chinese oxides and an Australian strategic reserve as the
  alternatives.

`inputs/build_example.py` turns this module into the workbook; edit the numbers
here, then run `python inputs/build_example.py` (or `make example`).

Every sheet is a plain list of dicts whose keys are the column names of the
input workbook contract (SPEC section 1); a missing key or None is a blank cell.
Each figure says where it comes from: "DOMAIN §x" is the public figure in the
project's domain research (DOMAIN.md, section x; tags C/S/D/U as there),
"derived" shows the arithmetic, "assumed" is an illustrative number with no
public source behind it.

Units and conventions of this example:
* quantities in t per quarter (capacities are a quarter of the annual figure);
* money in USD; prices and costs per t;
* `REE concentrate` and `MREC` are counted in t of contained rare-earth oxide
  (t REO), so that REE yields read as recoveries and grade shares;
* `LiOH` is battery-grade lithium hydroxide monohydrate (LiOH·H2O).

Rare-earth yields used below (all assumed or derived, DOMAIN §3.2 has no
reliable published yields):
* cracking, concentrate -> MREC: 0.90 t REO per t REO (assumed; within the
  75–95% "monazite -> MREC" range of DOMAIN §3.2 [S, weak]);
* separation, MREC -> NdPr oxide: 0.24 (derived: NdPr ≈ 25% of TREO in Mt Weld
  type ore [DOMAIN §3.2, U] × ~95% recovery [90–99%, DOMAIN §3.2, S]);
* separation, MREC -> Dy/Tb oxide: 0.005 (assumed; order of magnitude from
  DOMAIN §5.5: 65% of Mt Weld Dy/Tb ≈ 30% of Japan's HREE demand);
* concentrate -> NdPr oxide in one plant: 0.216 = 0.90 × 0.24 (derived).
"""

PERIODS_ = ["2027-Q1", "2027-Q2"]
Q1, Q2 = PERIODS_

# Materials (labels used throughout).
SC6 = "spodumene SC6"
LIOH = "LiOH"
REE_CONC = "REE concentrate"
MREC = "MREC"
NDPR = "NdPr oxide"
DYTB = "Dy/Tb oxide"

# Column order of every sheet, as in SPEC section 1.
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
}

# Sheet order in the workbook.
SHEET_ORDER = ["Settings", "Periods", "Suppliers", "Sites", "Processes", "Freight", "Lanes",
               "Stockpiles", "Demand"]


SETTINGS = [
    {"setting": "currency", "value": "USD"},
    # Blank: demand is hard unless a Demand row gives its own unmet_penalty.
    {"setting": "unmet_penalty", "value": None},
]

PERIODS = [{"period": p} for p in PERIODS_]


SUPPLIERS = [
    # Greenbushes (Talison), AU. Capacity: FY25 ≈ 1.4 Mt SC per year (DOMAIN §4, C)
    # -> 350,000 t per quarter (derived). Price: $750–803/t CIF China, Sep 2024
    # (DOMAIN §2, C) -> $780/t. min_t: take-or-pay offtake of 15,000 t per quarter
    # (assumed) - binds in 2027-Q1, when Pilgangoora is cheaper.
    {"supplier": "Greenbushes", "country": "AU", "material": SC6,
     "capacity_t": 350_000, "unit_cost": 780, "min_t": 15_000},

    # Pilgangoora (PLS), AU. Capacity ~1.0 Mtpa after P1000 (DOMAIN §4, C)
    # -> 250,000 t per quarter (derived). Price: $670–685/t, May 2025 (DOMAIN §2, S)
    # -> $680/t.
    {"supplier": "Pilgangoora", "country": "AU", "material": SC6,
     "capacity_t": 250_000, "unit_cost": 680},
    # Period override for 2027-Q2: price back up to "just over $820/t" (Apr 2025
    # level, DOMAIN §2, C) - assumed to apply in Q2. Repeats the capacity so the row
    # is complete on its own.
    {"supplier": "Pilgangoora", "country": "AU", "material": SC6,
     "capacity_t": 250_000, "unit_cost": 820, "period": Q2},

    # Chinese domestic spodumene (Sichuan), CN. Capacity assumed (China ~41,000 t Li
    # in 2024, DOMAIN §1.1, U - mostly lepidolite and brine). Price assumed: $800/t,
    # top of the Sep 2024 CIF China range (DOMAIN §2, C), no sea freight to the
    # converter.
    {"supplier": "CN-spodumene", "country": "CN", "material": SC6,
     "capacity_t": 50_000, "unit_cost": 800},

    # Mt Weld (Lynas), AU. Capacity: expanding to 12,000 t/yr NdPr-equivalent
    # (DOMAIN §4, C) -> 3,000 t NdPr per quarter / 0.216 t NdPr per t REO
    # ≈ 13,900 t REO per quarter (derived). Price assumed: $5,000/t REO contained
    # (no public concentrate price in DOMAIN).
    {"supplier": "Mt-Weld", "country": "AU", "material": REE_CONC,
     "capacity_t": 13_900, "unit_cost": 5_000},

    # Chinese REE concentrate, CN. Capacity assumed (China mine quota 270,000 t REO
    # in 2024, DOMAIN §1.4, S - only a small share assumed to be for sale abroad).
    # Price assumed: $6,000/t REO.
    {"supplier": "CN-REE-concentrate", "country": "CN", "material": REE_CONC,
     "capacity_t": 5_000, "unit_cost": 6_000},

    # Chinese oxide trader, CN (one supplier, two materials, one country).
    # NdPr oxide: $50–55/kg FOB China, Apr–Jun 2024 (DOMAIN §2, C) -> top of range,
    # $55,000/t, above the ex-China route (≈ $34,000/t landed, derived from the
    # costs in this file). Capacity assumed.
    {"supplier": "CN-oxide-trader", "country": "CN", "material": NDPR,
     "capacity_t": 2_000, "unit_cost": 55_000},
    # Dy/Tb oxide: 2024 averages Dy $260/kg, Tb $810/kg (DOMAIN §2, S); assumed
    # 80:20 Dy:Tb blend -> 0.8 × 260 + 0.2 × 810 = $370/kg = $370,000/t (derived).
    # Capacity assumed (exports licensed since Apr 2025, DOMAIN §5.1).
    {"supplier": "CN-oxide-trader", "country": "CN", "material": DYTB,
     "capacity_t": 50, "unit_cost": 370_000},
]


SITES = [
    # Kwinana (TLEA), AU: Train 1 24 ktpa LiOH (DOMAIN §4, C) -> 6,000 t LiOH per
    # quarter / 0.15 yield = 40,000 t SC6 input per quarter (derived).
    {"site": "Kwinana", "country": "AU", "capacity_t": 40_000},
    # A Chinese spodumene converter, CN: capacity assumed (China refines ~65% of
    # lithium, DOMAIN §1.1, S - a single converter of ~60 ktpa LiOH, assumed).
    {"site": "CN-converter", "country": "CN", "capacity_t": 100_000},
    # Lynas Kalgoorlie, AU: supports ~9,000 t/yr NdPr (DOMAIN §4, C) -> 2,250 t NdPr
    # per quarter / 0.216 ≈ 10,400 t REO concentrate input per quarter (derived).
    {"site": "Lynas-Kalgoorlie", "country": "AU", "capacity_t": 10_400},
    # Lynas Malaysia (Gebeng), MY: 10,500 t/yr NdPr (DOMAIN §4, C) -> 2,625 t per
    # quarter / 0.24 ≈ 11,000 t REO MREC input per quarter (derived).
    {"site": "Lynas-Malaysia", "country": "MY", "capacity_t": 11_000},
    # A Japanese separation plant (stand-in; e.g. Shin-Etsu's Takefu works, capacity
    # not found, DOMAIN §4, U): 2,000 t REO input per quarter, assumed.
    {"site": "JP-separator", "country": "JP", "capacity_t": 2_000},
]


PROCESSES = [
    # SC6 -> LiOH·H2O: 6.6–7.0 t SC6 per t LiOH (DOMAIN §3.1, D) -> yield 0.15
    # (6.67 t SC6 per t). Cost: US$2,500/t LCE (DOMAIN §3.1, C) × 0.88 t LCE per t
    # LiOH·H2O (DOMAIN §3.1, C) = $2,200/t LiOH × 0.15 = $330/t SC6 input (derived).
    {"site": "Kwinana", "process": "conversion", "input_material": SC6,
     "output_material": LIOH, "yield": 0.15, "cost_per_t": 330},
    # Chinese tolling fee ¥20,000/t LCE (DOMAIN §3.1, C) ≈ $2,800/t LCE × 0.88
    # = $2,460/t LiOH × 0.15 ≈ $370/t SC6 input (derived; ¥7.1 per $ assumed).
    {"site": "CN-converter", "process": "conversion", "input_material": SC6,
     "output_material": LIOH, "yield": 0.15, "cost_per_t": 370},

    # Cracking and leaching to mixed rare-earth carbonate: yield 0.90 (assumed, see
    # the module notes); cost $600/t REO input (assumed).
    {"site": "Lynas-Kalgoorlie", "process": "cracking", "input_material": REE_CONC,
     "output_material": MREC, "yield": 0.90, "cost_per_t": 600},

    # Lynas Malaysia separation: ONE process with two co-products - every t of MREC
    # yields 0.24 t NdPr oxide AND 0.005 t Dy/Tb oxide (yields derived/assumed, see
    # the module notes; HREE circuit since May 2025, DOMAIN §1.4, C). Cost
    # $2,000/t REO input (assumed; includes residue management).
    {"site": "Lynas-Malaysia", "process": "separation", "input_material": MREC,
     "output_material": NDPR, "yield": 0.24, "cost_per_t": 2_000},
    {"site": "Lynas-Malaysia", "process": "separation", "input_material": MREC,
     "output_material": DYTB, "yield": 0.005, "cost_per_t": 2_000},

    # Japanese separator: light rare earths only (no Dy/Tb circuit, assumed).
    # From MREC: yield 0.24 as above; cost $1,900/t REO input (assumed).
    {"site": "JP-separator", "process": "separation", "input_material": MREC,
     "output_material": NDPR, "yield": 0.24, "cost_per_t": 1_900},
    # From concentrate, cracking and separation in one plant: yield 0.216 (derived,
    # 0.90 × 0.24); cost $2,800/t REO input (assumed).
    {"site": "JP-separator", "process": "crack+separate", "input_material": REE_CONC,
     "output_material": NDPR, "yield": 0.216, "cost_per_t": 2_800},
]


FREIGHT = [
    # Spodumene Port Hedland -> China, 5,000 t parcel: $90/dmt, Apr 2023 peak market
    # (DOMAIN §3.4, C). A material row: beats the AU -> CN row below for SC6.
    {"from_country": "AU", "to_country": "CN", "material": SC6, "cost_per_t": 90},
    # Other cargo AU -> CN: assumed $30/t (DOMAIN §3.4 suggests ~$20–40/t for small
    # parcels, scaled from WA -> China bulk rates).
    {"from_country": "AU", "to_country": "CN", "cost_per_t": 30},
    # AU -> JP and AU -> MY (Kuantan): not found (DOMAIN §3.4, U) - assumed $35 and
    # $30/t, by distance from the WA -> China rates.
    {"from_country": "AU", "to_country": "JP", "cost_per_t": 35},
    {"from_country": "AU", "to_country": "MY", "cost_per_t": 30},
    # MY -> JP, CN -> JP, MY -> AU: assumed $30, $20, $30/t (short-sea / return legs).
    {"from_country": "MY", "to_country": "JP", "cost_per_t": 30},
    {"from_country": "CN", "to_country": "JP", "cost_per_t": 20},
    {"from_country": "MY", "to_country": "AU", "cost_per_t": 30},
    # No rows for CN -> AU, JP -> anywhere: no arcs there. Domestic legs cost 0.
]


LANES = [
    # MREC from Kalgoorlie to the Japanese separator: containerised parcels at $45/t
    # (assumed, above the $35/t AU -> JP default) and at most 1,200 t REO per quarter
    # under the supply agreement (assumed). Binds in the base plan.
    {"from": "Lynas-Kalgoorlie", "to": "JP-separator", "material": MREC,
     "cost_per_t": 45, "max_t": 1_200},
    # Closed: Mt Weld concentrate is tied to Lynas' own cracking plant at Kalgoorlie
    # (assumed), so it may not go straight to the Japanese separator.
    {"from": "Mt-Weld", "to": "JP-separator", "allowed": "no"},
]


STOCKPILES = [
    # Australian Critical Minerals Strategic Reserve (DOMAIN §5.6, C: A$1.2bn,
    # initial focus antimony, gallium, rare earths) holding NdPr oxide. All sizes and
    # costs assumed: 600 t held at the start, floor 300 t, at most 200 t released a
    # quarter, $500/t to release, $250/t per quarter to hold (~2%/yr of a ~$50,000/t
    # price, DOMAIN §2), may buy to refill.
    {"stockpile": "AU-reserve", "country": "AU", "material": NDPR,
     "initial_t": 600, "capacity_t": 1_500, "min_level_t": 300, "max_release_t": 200,
     "release_cost": 500, "holding_cost": 250, "intake": "yes"},
]


DEMAND = [
    # Japanese cathode maker, LiOH: assumed 7,500 and 8,000 t per quarter (one firm's
    # share of Japan's battery-material needs, DOMAIN §5.5 - anchors only). More than
    # Kwinana's 6,000 t per quarter, so the Chinese converter is needed too.
    {"customer": "JP-cathode", "country": "JP", "material": LIOH, "period": Q1,
     "quantity_t": 7_500},
    {"customer": "JP-cathode", "country": "JP", "material": LIOH, "period": Q2,
     "quantity_t": 8_000},

    # Japanese magnet maker A, NdPr oxide and Dy/Tb oxide: assumed volumes (Japan's
    # magnet NdPr needs of a few kt/yr, inferred from DOMAIN §1.4; Dy/Tb ≈ 1.3% of NdPr).
    {"customer": "JP-magnet-A", "country": "JP", "material": NDPR, "period": Q1,
     "quantity_t": 700},
    {"customer": "JP-magnet-A", "country": "JP", "material": NDPR, "period": Q2,
     "quantity_t": 750},
    {"customer": "JP-magnet-A", "country": "JP", "material": DYTB, "period": Q1,
     "quantity_t": 9},
    {"customer": "JP-magnet-A", "country": "JP", "material": DYTB, "period": Q2,
     "quantity_t": 10},

    # Japanese magnet maker B, NdPr oxide: assumed volumes. The 2027-Q2 row is soft:
    # $85,000/t left undelivered = the cost of spot cover in Europe ($82.50–85/kg,
    # Sep 2025, DOMAIN §2, S).
    {"customer": "JP-magnet-B", "country": "JP", "material": NDPR, "period": Q1,
     "quantity_t": 300},
    {"customer": "JP-magnet-B", "country": "JP", "material": NDPR, "period": Q2,
     "quantity_t": 350, "unmet_penalty": 85_000},
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
}
