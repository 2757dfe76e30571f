#!/usr/bin/env python3
"""Builds the web fonts the server sends: Amiri (crm-core/assets/fonts, the PDF exports'
TTF files) subset to Latin and Arabic, as WOFF2, renamed "CRM Naskh".

Amiri's licence (SIL OFL 1.1, OFL.txt) reserves the name "Amiri", and a subset is a
modified version, so the subsets carry another name. Needs fontTools and brotli
(`python3 -m pip install fonttools brotli`); run from anywhere:

    python3 examples/server/assets/fonts/subset.py
"""
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[3] / "crm-core" / "assets" / "fonts"
NAME = "CRM Naskh"
# Basic Latin and Latin-1, Arabic and Arabic Supplement, the joiners and bidi marks,
# general punctuation and isolates, the euro and minus signs, and the Allah and salawat
# ligatures people type (presentation forms otherwise come from the shaping tables).
UNICODES = ("U+0020-007E,U+00A0-00FF,U+0600-06FF,U+0750-077F,U+200C-200F,U+2010-2027,"
            "U+2030-205E,U+2066-2069,U+20AC,U+2212,U+FDF2,U+FDFA,U+FDFB")

for weight in ("Regular", "Bold"):
    options = subset.Options()
    options.layout_features = ["*"]
    options.flavor = "woff2"
    options.name_IDs = ["*"]
    font = TTFont(SOURCE / f"Amiri-{weight}.ttf")
    sub = subset.Subsetter(options)
    sub.populate(unicodes=subset.parse_unicodes(UNICODES))
    sub.subset(font)
    names = font["name"]
    for rec in list(names.names):
        if rec.nameID in (1, 4, 16, 21):
            names.setName(NAME if rec.nameID != 4 else f"{NAME} {weight}", rec.nameID,
                          rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID in (3, 6, 20):
            names.setName(f"CRMNaskh-{weight}", rec.nameID, rec.platformID, rec.platEncID,
                          rec.langID)
    font.flavor = "woff2"
    out = HERE / f"crm-naskh-{weight.lower()}.woff2"
    font.save(out)
    print(out.name, out.stat().st_size)
