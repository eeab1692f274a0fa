#!/usr/bin/env python3
"""Writes tests/grading/corpus.jsonl: the grading parity corpus (synthetic cases written by the
project; no competition text or answers).

Each case is one JSON object per line:
  {"id", "gold", "response", "expected", "strict"?, "after_think"?, "tags", "note"}
`expected` is the verdict a careful competition grader should give. `note` says why the case is
there and, wherever math-verify (the RSA reference pipeline) disagrees with `expected`, why
`expected` is right (tests/integration/test_grade_parity.py checks that such a note exists).

Usage: python3 tests/grading/make_corpus.py [--check]   (--check: exit 1 when corpus.jsonl is stale)
Stdlib only; deterministic.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus.jsonl")

CASES = []
_counters = {}

# Response templates: the answer P is boxed inside some prose; picked in turn, so the corpus
# exercises $...$, \(...\), \[...\], $$...$$ and bare boxes. None has "\boxed " (with a space).
TEMPLATES = [
    "The answer is $\\boxed{%s}$.",
    "Therefore, the final answer is \\(\\boxed{%s}\\).",
    "**Final Answer**\n\\[\n\\boxed{%s}\n\\]",
    "We simplify and obtain\n\n$$\\boxed{%s}$$",
    "Putting it all together: \\boxed{%s}",
]
_tpl = [0]

# Reasons reused in notes (why `expected` is right where math-verify says otherwise).
MV_ROUND = "math-verify rounds numbers to 6 decimals before comparing, so a short decimal passes"
MV_FBOX = "RSA's remove_boxed keeps only \\boxed{...}: \\fbox content becomes '' (scored wrong)"
MV_THINK = "the RSA pipeline ignores </think>; with after_think only the text after it counts"
MV_STRICT = "the RSA pipeline has no fallback; strict=false uses the last number of the text"
MV_I = "i is the imaginary unit; math-verify treats i as a plain symbol"
MV_DEG = "; math-verify drops ^\\circ even inside a trig function, so it compares the radian reading with itself"
MV_TEXT = "; math-verify drops every \\text{...} word as a unit"
MV_LASTLINE = "gold is a list: all boxes on the last boxed line form the answer; RSA keeps only the last box"


def case(tag, gold, pred=None, exp=True, note="", response=None, strict=None, after_think=None,
         tags=(), known_wrong=None):
    """Adds one case; with response None, pred is boxed inside the next template."""
    n = _counters.get(tag, 0) + 1
    _counters[tag] = n
    if response is None:
        response = TEMPLATES[_tpl[0] % len(TEMPLATES)] % pred
        _tpl[0] += 1
    c = {"id": f"{tag}-{n:03d}", "gold": gold, "response": response, "expected": exp}
    if strict is not None:
        c["strict"] = strict
    if after_think is not None:
        c["after_think"] = after_think
    c["tags"] = [tag, *tags]
    c["note"] = note
    if known_wrong:
        c["known_wrong"] = known_wrong
    CASES.append(c)


def T(tag, gold, pred, note="", **kw):
    case(tag, gold, pred, True, note, **kw)


def F(tag, gold, pred, note="", **kw):
    case(tag, gold, pred, False, note, **kw)


# ---------------------------------------------------------------- AIME-style integers
def integers():
    t = "int"
    T(t, "37", "37")
    T(t, "37", "037", "AIME zero padding")
    T(t, "37", "0037", "zero padding")
    T(t, "37", "37.0", "integer written as a decimal")
    T(t, "37", "37.00")
    T(t, "37", "37.", "trailing period inside the box")
    T(t, "37", None, "trailing period after the box", response="So the answer is \\boxed{37}.")
    T(t, "37", " 37 ", "spaces inside the box")
    T(t, "37", "{37}", "redundant braces")
    T(t, "37", "+37", "explicit plus sign")
    T(t, "37", "(37)", "redundant parentheses")
    T(t, "37", "\\mathbf{37}", "font command")
    T(t, "37", "\\text{37}", "number inside \\text")
    T(t, "37", "37 \\text{ ways}", "trailing word")
    T(t, "37", "n = 37", "variable assignment")
    T(t, "37", "30+7", "unevaluated sum")
    F(t, "37", "38", "off by one")
    F(t, "37", "36", "off by one")
    F(t, "37", "-37", "wrong sign")
    F(t, "37", "3.7", "misplaced decimal point")
    F(t, "37", "370", "extra digit")
    F(t, "37", "37.5", "not an integer")
    F(t, "37", "37.00000001", "close but not equal")
    F(t, "37", "3", "dropped digit")
    T(t, "1000", "1,000", "thousands separator")
    T(t, "1000", "1{,}000", "LaTeX thousands separator")
    T(t, "1000", "1\\,000", "thin-space thousands separator; math-verify reads 1\\,000 as 1*000 = 0")
    T(t, "1000", "10^3", "power of ten")
    T(t, "1000", "1000.0")
    F(t, "1000", "1,001", "off by one with separator")
    F(t, "1000", "100", "dropped zero")
    F(t, "1000", "10^4", "wrong exponent")
    T(t, "-876", "-876", "negative answer")
    T(t, "-876", "- 876", "space after the minus")
    T(t, "-876", "\u2212876", "Unicode minus sign (U+2212)")
    T(t, "-876", "-(876)")
    F(t, "-876", "876", "sign dropped")
    F(t, "-876", "-877", "off by one")
    T(t, "0", "0")
    T(t, "0", "-0", "negative zero")
    T(t, "0", "0.0")
    F(t, "0", "1")
    T(t, "7", "\\boxed{7}", "box inside a box", response="Hence $\\boxed{\\boxed{7}}$.")
    T(t, "12", "\\frac{24}{2}", "unevaluated fraction of an integer")
    F(t, "12", "\\frac{25}{2}")
    T(t, "109", "109 ", "trailing space")
    F(t, "109", "10 9", "digits separated by a space are one number only as thousands grouping (groups of exactly"
      " 3 digits, as SI writes 1 000 000); '10 9' is two numbers in a row, which is refused (unparseable) rather"
      " than guessed as 109 or 10*9 = 90 (see review-005..007)")
    F(t, "37", "0.37")
    F(t, "37", "37^2")
    F(t, "37", "\\frac{37}{2}")
    F(t, "37", "37!", "factorial sign is not punctuation")
    F(t, "37", "x", "a variable is not a number")
    F(t, "12", "\\sqrt{12}")
    F(t, "-876", "-8.76", "misplaced decimal point")


# ---------------------------------------------------------------- fractions and decimals
def fractions():
    t = "frac"
    g = "\\frac{1}{2}"
    T(t, g, "\\frac{1}{2}")
    T(t, g, "\\dfrac{1}{2}", "\\dfrac")
    T(t, g, "\\tfrac{1}{2}", "\\tfrac")
    T(t, g, "\\frac12", "brace-less \\frac")
    T(t, g, "\\dfrac12")
    T(t, g, "1/2", "slash fraction")
    T(t, g, "0.5", "decimal")
    T(t, g, ".5", "decimal without leading zero")
    T(t, g, "0.50")
    T(t, g, "\\frac{2}{4}", "unreduced fraction")
    T(t, g, "\\frac{-1}{-2}", "both signs negative")
    T(t, g, "{1}/{2}")
    T(t, g, "\\frac{1}{2}.", "trailing period; math-verify fails to parse a period after \\frac")
    T(t, g, "2^{-1}", "negative power")
    F(t, g, "\\frac{1}{3}", "wrong denominator")
    F(t, g, "2", "inverted")
    F(t, g, "\\frac{2}{1}", "inverted")
    F(t, g, "0.51", "close decimal")
    F(t, g, "-\\frac{1}{2}", "wrong sign")
    F(t, g, "0.05", "misplaced decimal point")
    g = "\\frac{1}{784}"
    T(t, g, "1/784")
    T(t, g, "\\frac{2}{1568}")
    T(t, g, "784^{-1}")
    F(t, g, "\\frac{1}{748}", "swapped digits")
    F(t, g, "0.001276", "4 significant digits of a non-terminating fraction are a different number; " + MV_ROUND)
    F(t, g, "784", "inverted")
    g = "\\frac{1423}{2029}"
    T(t, g, "\\frac{2846}{4058}", "unreduced")
    T(t, g, "1423/2029")
    F(t, g, "\\frac{1423}{2030}", "denominator off by one")
    F(t, g, "\\frac{2029}{1423}", "inverted")
    g = "-\\frac{1}{23}"
    T(t, g, "\\frac{-1}{23}", "sign in the numerator")
    T(t, g, "\\frac{1}{-23}", "sign in the denominator")
    T(t, g, "-1/23")
    T(t, g, "-\\dfrac{1}{23}")
    F(t, g, "\\frac{1}{23}", "sign dropped")
    F(t, g, "-\\frac{1}{32}", "swapped digits")
    g = "\\frac{9}{2}"
    T(t, g, "4.5")
    T(t, g, "4.50")
    T(t, g, "9/2")
    T(t, g, "\\frac{18}{4}")
    F(t, g, "4.4")
    F(t, g, "\\frac{2}{9}", "inverted")
    T(t, "0.25", "\\frac{1}{4}", "decimal gold, fraction answer")
    T(t, "0.25", "1/4")
    F(t, "0.25", "\\frac{1}{5}")
    T(t, "2.5", "\\frac{5}{2}")
    F(t, "2.5", "25")
    T(t, "\\frac{619}{128}", "4.8359375", "exact terminating decimal")
    F(t, "\\frac{619}{128}", "4.836", "rounded decimal of a rational")
    F(t, "\\frac{1}{3}", "0.333", "truncated decimal of a non-terminating fraction")
    F(t, "\\frac{1}{3}", "0.333333", "6 digits of 1/3 are still not 1/3; " + MV_ROUND)
    F(t, "\\frac{1}{3}", "0.333333333333333",
      "a finite decimal is a different rational than 1/3: exact arithmetic decides; " + MV_ROUND)
    T(t, "\\frac{1}{3}", "\\frac{3}{9}")
    T(t, "\\frac{5}{9}", "\\frac{10}{18}")
    F(t, "\\frac{5}{9}", "\\frac{9}{5}", "inverted")
    F(t, "\\frac{5}{9}", "0.56", "rounded decimal")
    F(t, "\\frac{1}{2}", "\\frac{1}{2}x", "stray variable")
    F(t, "\\frac{9}{2}", "\\frac{9}{4}")
    F(t, "0.25", "0.025")
    F(t, "2.5", "2.05")
    F(t, "\\frac{1423}{2029}", "0.70", "2-digit decimal")


# ---------------------------------------------------------------- radicals
def radicals():
    t = "sqrt"
    g = "2\\sqrt{2}"
    T(t, g, "\\sqrt{8}", "unsimplified radical")
    T(t, g, "2 \\sqrt 2", "brace-less \\sqrt")
    T(t, g, "\\sqrt{2}\\cdot 2", "factor order")
    T(t, g, "\\sqrt{2}+\\sqrt{2}")
    T(t, g, "2^{3/2}", "fractional power")
    T(t, g, "\\frac{4}{\\sqrt{2}}", "unrationalised denominator")
    T(t, g, "2.82842712474619", "15 significant digits")
    F(t, g, "\\sqrt{2}", "factor dropped")
    F(t, g, "4\\sqrt{2}", "doubled")
    F(t, g, "2.828", "4-significant-digit approximation of an irrational")
    F(t, g, "2\\sqrt{3}", "wrong radicand")
    F(t, g, "-2\\sqrt{2}", "wrong sign")
    F(t, g, "\\sqrt{2}^{3}+1", "near miss")
    g = "\\frac{7\\sqrt{19}}{19}"
    T(t, g, "\\frac{7}{\\sqrt{19}}", "unrationalised")
    T(t, g, "\\frac{7}{19}\\sqrt{19}")
    T(t, g, "\\dfrac{7 \\sqrt{19}}{19}")
    F(t, g, "\\frac{7\\sqrt{19}}{20}", "denominator off by one")
    F(t, g, "\\frac{7\\sqrt{19}}{91}", "swapped digits")
    F(t, g, "1.606", "few-digit approximation")
    g = "\\sqrt[3]{2}"
    T(t, g, "2^{1/3}", "cube root as a power")
    T(t, g, "2^{\\frac{1}{3}}")
    F(t, g, "\\sqrt{2}", "square root instead of cube root")
    F(t, g, "\\sqrt[3]{3}")
    F(t, g, "1.26", "few-digit approximation")
    T(t, "2", "\\sqrt[3]{8}", "perfect cube")
    T(t, "-2", "\\sqrt[3]{-8}", "real cube root of a negative number; math-verify (sympy) takes the complex principal root")
    T(t, "3", "\\sqrt{9}")
    F(t, "3", "\\sqrt{3}")
    g = "\\sqrt{\\frac{35}{12}}"
    T(t, g, "\\frac{\\sqrt{105}}{6}", "rationalised")
    T(t, g, "\\frac{\\sqrt{35}}{\\sqrt{12}}")
    T(t, g, "\\sqrt{35/12}")
    F(t, g, "\\frac{\\sqrt{105}}{12}", "denominator doubled")
    F(t, g, "\\frac{35}{12}", "root dropped")
    g = "\\sqrt{29}-2 \\sqrt{5}"
    T(t, g, "-2\\sqrt{5}+\\sqrt{29}", "terms reordered")
    T(t, g, "\\sqrt{29}-\\sqrt{20}", "unsimplified")
    F(t, g, "\\sqrt{29}+2\\sqrt{5}", "wrong sign")
    F(t, g, "2\\sqrt{5}-\\sqrt{29}", "negated")
    g = "(4+\\sqrt{7})^{-1/3}"
    T(t, g, "\\frac{1}{\\sqrt[3]{4+\\sqrt{7}}}", "negative power as a reciprocal")
    T(t, g, "\\sqrt[3]{\\frac{4-\\sqrt{7}}{9}}", "conjugate: (4+sqrt7)(4-sqrt7) = 9")
    F(t, g, "(4+\\sqrt{7})^{1/3}", "sign of the exponent")
    F(t, g, "(4-\\sqrt{7})^{-1/3}", "conjugate base")
    g = "\\frac{\\sqrt{1260}}{5}"
    T(t, g, "\\frac{6\\sqrt{35}}{5}", "simplified radical")
    F(t, g, "\\frac{6\\sqrt{35}}{25}")
    T(t, "12+4\\sqrt{41}", "4\\sqrt{41}+12")
    T(t, "12+4\\sqrt{41}", "4(3+\\sqrt{41})", "factored")
    F(t, "12+4\\sqrt{41}", "12+4\\sqrt{42}")
    T(t, "\\sqrt{10}", "\\sqrt{2}\\sqrt{5}")
    T(t, "\\sqrt{10}", "\\sqrt{2} \\cdot \\sqrt{5}")
    F(t, "\\sqrt{10}", "10")
    F(t, "\\sqrt{10}", "3.162", "few-digit approximation")
    F(t, "\\sqrt{2}", "1.41421", "6-significant-digit approximation")
    T(t, "\\sqrt{2}", "1.41421356237310", "15 significant digits")
    F(t, "\\sqrt{10}", "\\sqrt{11}")
    F(t, "\\sqrt{10}", "10^{1/3}", "cube root instead of square root")
    F(t, "\\sqrt[3]{2}", "\\sqrt[4]{2}")
    F(t, "2\\sqrt{2}", "\\sqrt{2}/2")


# ---------------------------------------------------------------- pi, e, i
def constants():
    t = "const"
    g = "2-\\frac{3}{\\pi}"
    T(t, g, "\\frac{2\\pi-3}{\\pi}", "common denominator")
    T(t, g, "2-3/\\pi")
    T(t, g, "2 - \\dfrac{3}{\\pi}")
    T(t, g, "-\\frac{3}{\\pi}+2")
    F(t, g, "2-\\frac{\\pi}{3}", "inverted term")
    F(t, g, "2+\\frac{3}{\\pi}", "wrong sign")
    F(t, g, "1.045070", "7-digit approximation of an irrational; " + MV_ROUND)
    F(t, g, "1.05", "3-digit approximation")
    T(t, "2\\pi", "\\pi \\cdot 2")
    T(t, "2\\pi", "2 \\pi")
    F(t, "2\\pi", "6.28", "few-digit approximation")
    F(t, "2\\pi", "\\pi")
    F(t, "\\pi", "3.14", "few-digit approximation")
    F(t, "\\pi", "3.141593", "6-decimal approximation; " + MV_ROUND)
    F(t, "\\pi", "\\frac{22}{7}", "classic rational approximation")
    T(t, "\\pi", "3.14159265358979", "15 significant digits")
    T(t, "\\frac{\\pi^2}{6}", "\\pi^2/6")
    F(t, "\\frac{\\pi^2}{6}", "\\frac{\\pi}{6}")
    T(t, "3 - \\frac{\\pi}{2}", "\\frac{6-\\pi}{2}")
    F(t, "3 - \\frac{\\pi}{2}", "\\frac{6+\\pi}{2}")
    T(t, "e^2", "e^{2}")
    T(t, "e^2", "\\exp(2)", "\\exp")
    T(t, "e^2", "e \\cdot e")
    F(t, "e^2", "2e", "power vs product")
    F(t, "e^2", "7.389", "few-digit approximation")
    T(t, "e", "2.71828182845905", "15 significant digits")
    F(t, "e", "2.718", "few-digit approximation")
    T(t, "-1", "i^2", "imaginary unit squared; " + MV_I)
    T(t, "i", "\\sqrt{-1}", MV_I)
    T(t, "2i", "(1+i)^2", MV_I)
    T(t, "1+i", "i+1")
    F(t, "1+i", "1-i", "conjugate")
    T(t, "-i", "\\frac{1}{i}", MV_I)
    F(t, "-i", "i", "wrong sign")
    T(t, "-1", "e^{i\\pi}", "Euler's identity; " + MV_I)
    F(t, "1", "e^{i\\pi}")
    F(t, "e^2", "e^{-2}", "sign of the exponent")
    F(t, "2\\pi", "\\pi^2")
    F(t, "\\frac{\\pi^2}{6}", "\\frac{\\pi^2}{3}")
    F(t, "i", "-i")
    F(t, "2i", "2", "imaginary unit dropped")


# ---------------------------------------------------------------- trig, log, exp
def trig_log():
    t = "func"
    T(t, "\\frac{1}{2}", "\\sin\\frac{\\pi}{6}")
    T(t, "\\frac{1}{2}", "\\sin(\\pi/6)")
    T(t, "\\frac{1}{2}", "\\cos\\left(\\frac{\\pi}{3}\\right)")
    T(t, "\\frac{1}{2}", "\\sin 30^\\circ", "degrees inside a trig function; math-verify drops ^\\circ and takes sin(30 rad)")
    T(t, "1", "\\tan\\frac{\\pi}{4}")
    T(t, "1", "\\cos 0")
    T(t, "\\frac{\\sqrt{3}}{2}", "\\cos\\frac{\\pi}{6}")
    F(t, "\\frac{\\sqrt{3}}{2}", "\\cos\\frac{\\pi}{3}", "wrong angle")
    F(t, "\\frac{1}{2}", "\\sin\\frac{\\pi}{3}")
    T(t, "\\frac{\\pi}{4}", "\\arctan 1")
    T(t, "\\frac{\\pi}{6}", "\\arcsin\\frac{1}{2}")
    F(t, "\\frac{\\pi}{6}", "\\arccos\\frac{1}{2}")
    T(t, "3", "\\log_2 8")
    T(t, "3", "\\log_{2}8")
    T(t, "4", "\\log_3 81")
    T(t, "3", "\\log_{10} 1000")
    T(t, "3", "\\ln(e^3)")
    F(t, "3", "\\log_2 9")
    T(t, "2\\log_2 3", "\\log_2 9")
    T(t, "\\ln 6", "\\ln 2+\\ln 3")
    F(t, "\\ln 6", "\\ln 5")
    F(t, "\\ln 2", "0.693", "few-digit approximation")
    T(t, "\\ln 2", "\\log_e 2", "log base e is ln; math-verify misreads \\log_e 2 as 2")
    T(t, "1", "\\exp(0)")
    T(t, "5", "e^{\\ln 5}")
    T(t, "e", "\\exp(1)")
    F(t, "e", "\\exp(2)")
    T(t, "1", "\\sin^2 x+\\cos^2 x", "identity in a variable")
    T(t, "\\sin 2x", "2\\sin x\\cos x", "double angle")
    F(t, "\\sin 2x", "2\\sin x", "near miss")
    F(t, "\\tan x", "\\cot x")
    F(t, "3", "\\log_3 8", "base and argument swapped")
    F(t, "4", "\\log_2 81")
    F(t, "1", "\\sin 0")
    F(t, "\\ln 6", "\\ln 2\\cdot\\ln 3", "log of a product is not a product of logs")
    F(t, "\\frac{\\pi}{4}", "\\arctan 2")
    F(t, "5", "e^{\\ln 6}")


# ---------------------------------------------------------------- factorial and binomial
def factorial_binom():
    t = "fact"
    T(t, "120", "5!")
    T(t, "5!", "120")
    F(t, "5!", "100")
    F(t, "5!", "5", "factorial dropped")
    F(t, "24", "4! + 1")
    T(t, "1", "0!")
    T(t, "720", "(3!)!")
    T(t, "90", "\\frac{10!}{8!}")
    F(t, "90", "\\frac{10!}{7!}")
    T(t, "26!", str(math.factorial(26)), "factorial vs its digits")
    F(t, "26!", str(math.factorial(26) + 1), "digits off by one: exact comparison needed")
    F(t, "26!", "25!")
    F(t, "720", "(3!)^2")
    F(t, "1", "1!+0!")
    t = "binom"
    T(t, "10", "\\binom{5}{2}")
    T(t, "\\binom{5}{2}", "10")
    T(t, "10", "\\dbinom{5}{2}")
    T(t, "10", "\\tbinom{5}{2}")
    T(t, "10", "{5 \\choose 2}", "\\choose")
    T(t, "\\binom{5}{2}", "\\binom{5}{3}", "symmetry")
    T(t, "210", "\\binom{10}{4}")
    F(t, "10", "\\binom{5}{1}")
    F(t, "\\binom{5}{2}", "20", "ordered pairs instead of subsets")
    F(t, "\\binom{6}{3}", "\\binom{6}{2}")
    T(t, "\\binom{6}{3}", "20")
    F(t, "210", "\\binom{10}{5}")
    F(t, "10", "\\binom{5}{2}+1")


# ---------------------------------------------------------------- big and huge numbers
def big_numbers():
    t = "big"
    g = "2^{23} \\cdot 24!"
    v = 2**23 * math.factorial(24)
    T(t, g, str(v), "integer expression vs its decimal digits")
    T(t, g, "2^{23}\\times 24!")
    T(t, g, "24!\\cdot 2^{23}")
    T(t, g, "8388608 \\cdot 24!", "power expanded")
    T(t, str(v), g, "digits as gold, expression as answer")
    F(t, g, "2^{22} \\cdot 24!", "wrong exponent")
    F(t, g, str(v + 1), "digits off by one: a relative tolerance would wrongly accept")
    F(t, g, str(v)[:-1] + "1", "last digit changed")
    F(t, g, "2^{23} \\cdot 23!")
    p = 7**1000
    T(t, "7^{1000}", str(p), "846-digit expansion")
    T(t, "7^{1000}", "49^{500}")
    F(t, "7^{1000}", str(p - 1), "846 digits, off by one")
    F(t, "7^{1000}", "7^{999}")
    F(t, "7^{1000}", "1000^{7}", "swapped base and exponent")
    g = "40(1 - \\frac{1}{2^{97} - 1})"
    m = 2**97 - 1
    T(t, g, "\\frac{40(2^{97}-2)}{2^{97}-1}", "same rational, other form")
    T(t, g, "40-\\frac{40}{2^{97}-1}")
    T(t, g, "\\frac{%d}{%d}" % (40 * (m - 1), m), "exact fraction in digits")
    F(t, g, "40", "differs by 40/(2^97-1) ~ 3e-28: a tolerance would wrongly accept")
    F(t, g, "40(1 - \\frac{1}{2^{97} + 1})", "differs by ~1e-57; math-verify compares at 15-digit precision")
    F(t, "1", "1-10^{-20}", "tiny difference: exact arithmetic decides")
    F(t, "1", "0.99999999999999999999", "twenty nines")
    T(t, "2^{97}-1", str(m))
    F(t, "2^{97}-1", str(m + 2))
    F(t, "2^{97}-1", "2^{97}", "differs by 1 in 30 digits")
    F(t, "7^{1000}", "7^{1000}+1", "differs by 1 in 846 digits")
    F(t, "2^{23} \\cdot 24!", "2^{23}\\cdot 24", "factorial sign dropped")
    digits = "".join(str((i * 7 + 3) % 10) for i in range(1000))
    digits = "9" + digits[1:]
    T(t, digits, digits, "1000-digit integer")
    F(t, digits, digits[:500] + str((int(digits[500]) + 1) % 10) + digits[501:], "one digit changed in the middle")
    t = "huge"
    T(t, "10^{10^{10}}", "10^{10^{10}}", "too big to expand: identical answers must still match")
    T(t, "10^{10^{10}}", "10^{10000000000}", "same tower, exponent expanded; math-verify times out evaluating it")
    F(t, "10^{10^{10}}", "10^{10^{10}}+1", "differs by 1; doubles cannot tell")
    F(t, "10^{10^{10}}", "10^{10^{10}+1}", "ten times bigger")
    T(t, "2^{2^{100}}", "2^{2^{100}}")
    F(t, "9^{9^{9}}", "9^{9^{9}}-1", "differs by 1")
    T(t, "2^{100000}", "2^{100000}", "30103 digits")
    F(t, "2^{100000}", "2^{100000}+1", "exact comparison needed")
    T(t, "2^{100000}", "4^{50000}")


# ---------------------------------------------------------------- percent, degrees, units, text
def percent_degrees_units():
    t = "pct"
    T(t, "25\\%", "25\\%")
    T(t, "25\\%", "25 \\%")
    T(t, "25\\%", "25%", "unescaped percent sign")
    T(t, "25\\%", "25", "percent sign omitted")
    T(t, "25", "25\\%", "percent sign added to a plain gold")
    T(t, "12.5\\%", "\\frac{25}{2}\\%", "math-verify cannot parse a \\frac followed by \\%")
    T(t, "12.5\\%", "12.5", "percent sign omitted; math-verify compares 12.5 with 0.125")
    F(t, "25\\%", "26\\%")
    F(t, "25\\%", "2.5\\%", "misplaced decimal point")
    F(t, "12.5\\%", "12\\%")
    F(t, "25\\%", "250")
    F(t, "25\\%", "0.025", "neither 25 nor 0.25")
    t = "deg"
    g = "68^\\circ"
    T(t, g, "68", "degree sign omitted")
    T(t, g, "68^{\\circ}")
    T(t, g, "68\u00b0", "Unicode degree sign")
    T(t, g, "68 \\text{ degrees}")
    T(t, g, "68\\degree")
    T(t, "68", "68^\\circ", "degree sign added to a plain gold")
    F(t, g, "69^\\circ", "off by one")
    F(t, g, "-68^\\circ", "wrong sign")
    F(t, g, "112^\\circ", "supplementary angle")
    F(t, g, "22^\\circ", "complementary angle")
    F(t, g, "86^\\circ", "swapped digits")
    F(t, g, "6.8", "misplaced decimal point")
    t = "unit"
    T(t, "10", "10 \\text{ cm}")
    T(t, "10", "10\\text{cm}")
    T(t, "10", "10 \\mathrm{cm}")
    T(t, "10", "10 \\text{ cm}^2", "squared unit")
    T(t, "10", "10\\ \\text{meters}")
    T(t, "5", "5 \\text{ apples}")
    T(t, "10", "\\$10", "dollar amount; the escaped $ stops the RSA $-wrapping, so math-verify parses no math")
    T(t, "10", "\\$10.00", "dollar amount; the escaped $ stops the RSA $-wrapping, so math-verify parses no math")
    T(t, "10 \\text{ cm}", "10")
    F(t, "10", "11 \\text{ cm}")
    F(t, "10", "1 \\text{ cm}")
    F(t, "10 \\text{ cm}", "100")
    t = "text"
    T(t, "\\text{Alice}", "\\text{Alice}", "word answer")
    T(t, "\\text{Alice}", "\\textbf{Alice}")
    F(t, "\\text{Alice}", "\\text{Bob}", "different word")
    T(t, "\\text{(C)}", "\\text{(C)}", "choice letter")
    F(t, "\\text{(C)}", "\\text{(D)}")
    F(t, "\\text{Alice}", "\\text{Alicia}")


# ---------------------------------------------------------------- \left/\right, thousands
def leftright_thousands():
    t = "lr"
    T(t, "\\frac{1}{2}", "\\left(\\frac{1}{2}\\right)")
    T(t, "(1, 2, 3)", "\\left( 1, 2, 3 \\right)")
    T(t, "[0, 1)", "\\left[0,1\\right)")
    T(t, "\\{1, 2\\}", "\\left\\{1,2\\right\\}")
    T(t, "(1, 2, 3)", "\\bigl(1,2,3\\bigr)", "sizing commands; math-verify does not drop \\bigl/\\bigr")
    T(t, "7", "\\Big(7\\Big)", "sizing commands; math-verify does not drop \\Big")
    F(t, "(1, 2, 3)", "\\left(3,2,1\\right)", "reordered tuple")
    F(t, "[0, 1)", "\\left[0,1\\right]", "closed end")
    F(t, "\\frac{1}{2}", "\\left(\\frac{1}{3}\\right)")
    F(t, "7", "\\left(8\\right)")
    F(t, "\\{1, 2\\}", "\\left\\{1,3\\right\\}")
    t = "thou"
    T(t, "1000000", "1,000,000")
    T(t, "1000000", "1{,}000{,}000")
    T(t, "12345", "12,345")
    T(t, "12345.5", "12,345.5")
    T(t, "1,000", "1000", "thousands separator in the gold")
    T(t, "1,000", "1{,}000")
    F(t, "1000000", "1,000,001")
    F(t, "12345", "12,354", "swapped digits")
    F(t, "1,000", "100")
    F(t, "1,000", "1,001")
    F(t, "123", "1,2,3", "a list is not a number")
    F(t, "1000000", "1,000", "missing groups")
    F(t, "12345.5", "12,345.05")


# ---------------------------------------------------------------- equations x = ...
def equations():
    t = "eq"
    T(t, "5", "x = 5")
    T(t, "5", "x=5")
    T(t, "x = 5", "5", "gold written as an assignment")
    T(t, "x=5", "y = 5", "the value is the answer, not the variable's name; math-verify compares the equations")
    T(t, "5", "2+3=5", "keep what follows the last =")
    T(t, "5", "x = 2 + 3")
    F(t, "5", "x = 6")
    F(t, "5", "2+3=6", "the value after the last = is wrong")
    F(t, "2", "x = -2", "wrong sign")
    T(t, "\\frac{1}{2}", "p = \\frac{1}{2}")
    T(t, "y = 2x + 1", "y=2x+1")
    T(t, "y = 2x + 1", "1 + 2x", "right-hand side only, reordered")
    F(t, "y = 2x + 1", "y = 2x - 1")
    T(t, "2x+1", "f(x) = 2x+1")
    T(t, "2, 3", "x = 2, 3", "list with an assignment")
    T(t, "2, 3", "x = 2, x = 3", "one assignment per root")
    T(t, "2, 3", "x=2 \\text{ or } x=3", "roots joined by 'or'")
    F(t, "2, 3", "x = 2", "root missing")
    F(t, "x = 5", "x = -5", "wrong sign")
    F(t, "\\frac{1}{2}", "p = \\frac{1}{3}")
    F(t, "2x+1", "f(x) = 2x")
    F(t, "5", "x = 5 + 1")


# ---------------------------------------------------------------- tuples, sets, intervals, lists, \pm
def structures():
    t = "tuple"
    T(t, "(1, 2, 3)", "(1,2,3)")
    F(t, "(1, 2, 3)", "(1,3,2)", "order matters in a tuple")
    F(t, "(1, 2, 3)", "(1,2)", "element missing")
    F(t, "(1, 2, 3)", "(1,2,3,4)", "extra element")
    T(t, "(3, -1)", "(3,-1)")
    F(t, "(3, -1)", "(-1, 3)", "swapped")
    F(t, "(3, -1)", "(3, 1)", "wrong sign")
    T(t, "(\\frac{1}{2}, 3)", "(0.5, 3)", "elementwise equivalence")
    T(t, "(\\frac{1}{2}, 3)", "\\left(\\dfrac12,3\\right)")
    F(t, "(\\frac{1}{2}, 3)", "(3, \\frac{1}{2})", "swapped")
    T(t, "(2, 5)", "(a, b) = (2, 5)", "named tuple")
    T(t, "(2, 5)", "(2,5)")
    F(t, "(2, 5)", "(5, 2)", "swapped")
    T(t, "(1, \\sqrt{2}, \\pi)", "(1, \\sqrt2, \\pi)")
    F(t, "(1, \\sqrt{2}, \\pi)", "(1, \\sqrt3, \\pi)")
    F(t, "(2, 5)", "(2, 5, 0)", "extra component")
    F(t, "(1, 2, 3)", "(2,1,3)", "first two swapped")
    t = "set"
    T(t, "\\{1, 2, 3\\}", "\\{3, 2, 1\\}", "order does not matter in a set")
    T(t, "\\{1, 2, 3\\}", "\\{1,2,3\\}")
    T(t, "\\{1, 2\\}", "\\{1, 2, 2\\}", "repeated element")
    F(t, "\\{1, 2\\}", "\\{1, 3\\}")
    F(t, "\\{1, 2\\}", "\\{1\\}", "element missing")
    F(t, "\\{1, 2\\}", "\\{1, 2, 3\\}", "extra element")
    T(t, "\\{\\frac{1}{2}, 2\\}", "\\{2, 0.5\\}")
    T(t, "\\emptyset", "\\varnothing", "same symbol; math-verify does not know \\varnothing")
    T(t, "\\emptyset", "\\{\\}", "empty braces")
    F(t, "\\emptyset", "\\{0\\}", "the set holding 0 is not empty")
    F(t, "\\{-1, 1\\}", "\\{1\\}")
    F(t, "\\{1, 2, 3\\}", "\\{1, 2, 4\\}")
    F(t, "\\{\\frac{1}{2}, 2\\}", "\\{2, 0.6\\}")
    t = "interval"
    T(t, "[0, 1)", "[0,1)")
    F(t, "[0, 1)", "[0, 1]", "wrong right end")
    F(t, "[0, 1)", "(0, 1)", "wrong left end")
    F(t, "(0, 1]", "(0, 1)", "wrong right end")
    T(t, "(-\\infty, 2]", "(-\\infty,2]")
    T(t, "(-\\infty, 2]", "\\left(-\\infty, 2\\right]")
    F(t, "(-\\infty, 2]", "(-\\infty, 2)", "wrong right end")
    F(t, "(-\\infty, 2]", "[2, \\infty)", "complement side")
    T(t, "[2, \\infty)", "[2, +\\infty)")
    F(t, "[2, \\infty)", "(2, \\infty)", "wrong left end")
    T(t, "(0, \\frac{1}{2}]", "(0, 0.5]")
    F(t, "(0, \\frac{1}{2}]", "(0, 0.5)")
    T(t, "[1, 2] \\cup [3, 4]", "[3,4] \\cup [1,2]", "union order")
    F(t, "[1, 2] \\cup [3, 4]", "[1,2] \\cup (3,4]")
    F(t, "[1, 2] \\cup [3, 4]", "[1, 4]")
    F(t, "[0, 1)", "[0, 2)")
    F(t, "(-\\infty, 2]", "(-\\infty, 3]")
    F(t, "[2, \\infty)", "[3, \\infty)")
    t = "list"
    g = "\\frac{-1+\\sqrt{13}}{2}, \\frac{-1-\\sqrt{13}}{2}"
    T(t, g, "\\frac{-1-\\sqrt{13}}{2}, \\frac{-1+\\sqrt{13}}{2}", "order does not matter")
    T(t, g, "\\frac{-1\\pm\\sqrt{13}}{2}", "\\pm for both roots; math-verify does not expand \\pm inside a fraction")
    T(t, g, "\\frac{-1+\\sqrt{13}}{2},\\frac{-1-\\sqrt{13}}{2}")
    F(t, g, "\\frac{-1+\\sqrt{13}}{2}", "one root missing")
    F(t, g, "\\frac{1+\\sqrt{13}}{2}, \\frac{1-\\sqrt{13}}{2}", "wrong sign")
    T(t, "1, 2, 3", "3, 2, 1")
    T(t, "1, 2, 3", "1,2,3")
    F(t, "1, 2, 3", "1, 2", "element missing")
    F(t, "1, 2, 3", "1, 2, 3, 4", "extra element")
    F(t, "1, 2, 3", "1, 2, 4")
    T(t, "1, 2", "1 \\text{ and } 2", "joined by 'and'")
    T(t, "1, 2", None, MV_LASTLINE, response="The two values are \\boxed{1}, \\boxed{2}")
    T(t, "1, 2", None, MV_LASTLINE, response="First \\boxed{5}.\nSo the answers are $\\boxed{2}$ and $\\boxed{1}$.")
    F(t, "1, 2", None, "the earlier line's box is not part of the answer",
      response="Maybe \\boxed{1}.\nFinally \\boxed{2}")
    F(t, "1, 2, 3", "1, 2, 2", "3 missing, 2 repeated")
    F(t, g, "\\frac{-1+\\sqrt{13}}{2}, \\frac{-1+\\sqrt{13}}{2}", "the same root twice")
    F(t, "1, 2", "1 \\text{ and } 3")
    t = "pm"
    T(t, "1 \\pm \\sqrt{2}", "1+\\sqrt{2}, 1-\\sqrt{2}", "\\pm expanded")
    T(t, "1 \\pm \\sqrt{2}", "1-\\sqrt{2}, 1+\\sqrt{2}")
    T(t, "1 \\pm \\sqrt{2}", "1\\pm\\sqrt2")
    T(t, "1 \\pm \\sqrt{2}", "1 \\mp \\sqrt{2}", "same two values")
    F(t, "1 \\pm \\sqrt{2}", "1+\\sqrt{2}", "one value missing")
    F(t, "1 \\pm \\sqrt{2}", "-1\\pm\\sqrt{2}")
    T(t, "\\pm 3", "3, -3")
    T(t, "\\pm 3", "-3, 3")
    T(t, "3, -3", "\\pm 3")
    F(t, "\\pm 3", "3")
    F(t, "\\pm 3", "\\pm 4")
    F(t, "1 \\pm \\sqrt{2}", "1 \\pm \\sqrt{3}")
    F(t, "\\pm 3", "-3", "one value missing")


# ---------------------------------------------------------------- expressions with variables
def variables():
    t = "var"
    T(t, "(x+1)^2", "x^2+2x+1", "expanded")
    T(t, "x^2+2x+1", "(x+1)^2", "factored")
    T(t, "(x+1)^2", "(1+x)^{2}")
    F(t, "(x+1)^2", "x^2+2x+2")
    F(t, "(x+1)^2", "(x-1)^2")
    F(t, "(x+1)^2", "x^2+1", "forgot the cross term")
    T(t, "x+1", "\\frac{x^2-1}{x-1}", "removable singularity")
    T(t, "2x", "x+x")
    T(t, "xy", "yx")
    T(t, "a^2-b^2", "(a-b)(a+b)")
    F(t, "a^2-b^2", "(a-b)^2")
    T(t, "\\frac{n(n+1)}{2}", "\\frac{n^2+n}{2}")
    F(t, "\\frac{n(n+1)}{2}", "\\frac{n(n-1)}{2}")
    T(t, "2^{n+1}", "2 \\cdot 2^n")
    F(t, "2^{n+1}", "2^n+1")
    T(t, "e^{x+y}", "e^x e^y")
    F(t, "x^2", "y^2", "different variable")
    F(t, "2x", "2", "variable dropped")
    F(t, "|x|", "x", "equal only for x >= 0")
    T(t, "|x|", "\\sqrt{x^2}")
    F(t, "\\sqrt{x^2}", "x", "sqrt(x^2) = |x|, not x")
    F(t, "xy", "x+y")
    F(t, "a^2-b^2", "(a+b)^2")
    F(t, "2^{n+1}", "2^{n}")
    F(t, "e^{x+y}", "e^x + e^y")
    F(t, "x+1", "\\frac{x^2+1}{x-1}")


# ---------------------------------------------------------------- adversarial extraction
def extraction():
    t = "extract"
    T(t, "2", None, "the last box wins", response="First try: \\boxed{1}. Correction: \\boxed{2}.")
    F(t, "1", None, "the last box wins", response="First try: \\boxed{1}. Correction: \\boxed{2}.")
    T(t, "5", None, "many boxes, the last is right",
      response="".join("Step %d gives \\boxed{%d}.\n" % (k, k) for k in range(100)) + "Final: \\boxed{5}")
    F(t, "5", None, "the right answer boxed early, a wrong one last",
      response="I think \\boxed{5}. Actually, let me reconsider: \\boxed{6}")
    T(t, "\\frac{\\sqrt{2}}{2}", None, "nested braces", response="So \\boxed{\\frac{\\sqrt{2}}{2}} is it.")
    T(t, "\\frac{1}{2}", None, "box in a box", response="$\\boxed{\\boxed{\\frac{1}{2}}}$")
    T(t, "5", None, "\\boxed followed by a space", response="The answer is $\\boxed 5$.")
    T(t, "5", None, "\\boxed followed by a space, at the end", response="The answer is \\boxed 5")
    T(t, "6", None, "a later \\boxed{} beats an earlier '\\boxed 5'; the RSA code prefers any '\\boxed ' (with space)",
      response="Guess: $\\boxed 5$. Checking again, the value is \\boxed{6}.")
    T(t, "7", None, MV_FBOX, response="Thus \\fbox{7}.")
    T(t, "7", None, "\\fbox after \\boxed: the last box wins; the RSA code looks for \\fbox only when"
      " there is no \\boxed at all, so it takes the earlier \\boxed{3}",
      response="Earlier \\boxed{3}; final \\fbox{7}")
    T(t, "7", None, "\\boxed after \\fbox", response="Earlier \\fbox{3}; final \\boxed{7}")
    F(t, "0", None, "an empty box is no answer", response="The answer is \\boxed{}.")
    T(t, "5", None, "an empty box holds no answer, so the last non-empty box counts; the RSA code takes the"
      " empty last box", response="Final answer: \\boxed{5}\n\n(Answers go in \\boxed{}.)")
    F(t, "5", None, "a box holding only spaces", response="\\boxed{ }")
    T(t, "5", None, "box with \\text", response="\\boxed{\\text{5}}")
    F(t, "5", None, "the last box holds words, not the number",
      response="\\boxed{5}\n\nSee \\boxed{\\text{above}}")
    T(t, "5", None, "box only inside <think>; after_think off: any box counts",
      response="<think>Try 4. No: \\boxed{5}</think>The answer is five.")
    F(t, "5", None, "box only inside <think>; " + MV_THINK, after_think=True,
      response="<think>Try 4. No: \\boxed{5}</think>The answer is five.")
    T(t, "5", None, "box after </think> counts", after_think=True,
      response="<think>Maybe \\boxed{4}.</think>Final answer: \\boxed{5}")
    F(t, "4", None, "only the text after </think> counts; " + MV_THINK, after_think=True,
      response="<think>Maybe \\boxed{4}.</think>Final answer: \\boxed{5}")
    F(t, "5", None, "after_think: no </think> (truncated thinking) means no answer; " + MV_THINK,
      after_think=True, response="<think>Working... \\boxed{5}")
    T(t, "5", None, "after_think off: last box anywhere",
      response="<think>Maybe \\boxed{4}.</think>Final answer: \\boxed{5}")
    T(t, "5", None, "after_think, non-strict: last number after </think>; " + MV_STRICT, after_think=True, strict=False,
      response="<think>\\boxed{4}</think>The answer is 5")
    F(t, "5", None, "no box; strict: no answer", response="The answer is 5.")
    T(t, "5", None, "no box; non-strict falls back to the last number; " + MV_STRICT, strict=False,
      response="The answer is 5.")
    T(t, "42", None, "non-strict fallback; " + MV_STRICT, strict=False,
      response="I first thought 41, but it is 42")
    F(t, "41", None, "non-strict fallback takes the last number", strict=False,
      response="I first thought 41, but it is 42")
    T(t, "-7", None, "non-strict fallback keeps the sign; " + MV_STRICT, strict=False,
      response="so the result is -7")
    F(t, "99", None, "non-strict: a box beats the fallback", strict=False,
      response="\\boxed{x+1} and 99")
    F(t, "0", None, "non-strict: no number at all", strict=False, response="no digits here")
    F(t, "12", None, "no box, strict", response="the answer is 12")
    F(t, "\\frac{1}{2}", None, "unbalanced: the box never closes", response="So \\boxed{\\frac{1}{2}")
    F(t, "4", None, "unbalanced last box", response="\\boxed{3} but then \\boxed{4")
    T(t, "5", None, "a stray closing brace after the box", response="\\boxed{5}}")
    F(t, "5", None, "unbalanced: extra opening brace", response="\\boxed{{5}")
    T(t, "5", None, "escaped braces inside the box do not count", response="\\boxed{\\{5\\}}")
    T(t, "5", None, "'\\boxed' inside prose before the real box", response="We use \\boxed{} notation: \\boxed{5}")
    T(t, "10^{10^{10}}", None, "huge number in the box", response="\\boxed{10^{10^{10}}}")
    deep = "{" * 5000 + "5" + "}" * 5000
    T(t, "5", None, "5000-deep braces around the answer; math-verify times out", response="\\boxed{" + deep + "}")
    deep = "(" * 5000 + "6" + ")" * 5000
    F(t, "5", None, "5000-deep parentheses around a wrong answer", response="\\boxed{" + deep + "}")
    deep = "\\sqrt{" * 5000 + "16" + "}" * 5000
    F(t, "2", None, "5000 nested square roots of 16 (close to 1, not 2)", response="\\boxed{" + deep + "}")
    deep = "{" * 5000 + "5"
    F(t, "5", None, "5000 unclosed braces", response="\\boxed{" + deep)
    long = "Let me think. " * 7000
    T(t, "17", None, "98 kB of prose, then the box", response=long + "\\boxed{17}")
    F(t, "17", None, "98 kB of prose, no box", response=long + "17")
    T(t, "3", None, "box in display math with a label", response="\\[\n\\text{Answer: } \\boxed{3}\n\\]")
    T(t, "3", None, "markdown around the box", response="**Answer:** $\\boxed{3}$")
    T(t, "3", None, "dollar signs inside the box", response="\\boxed{$3$}")
    F(t, "5", None, "the last box is 56", response="\\boxed{5} \\boxed{56}")
    F(t, "3", None, "\\boxed after \\fbox: the last box wins", response="\\fbox{3} and then \\boxed{4}")


# ---------------------------------------------------------------- review findings (each was graded wrong once)
def review():
    t = "review"
    F(t, "\\sin 30^\\circ", "\\sin 30", "sin 30 degrees = 1/2 but sin 30 (radians) = -0.988: the quick string match"
      " must not drop ^\\circ inside a trig function" + MV_DEG)
    F(t, "\\cos 60^{\\circ}", "\\cos 60", "cos 60 degrees = 1/2 but cos 60 (radians) = -0.952" + MV_DEG)
    F(t, "2\\sin 10^\\circ", "2\\sin 10", "2 sin 10 degrees = 0.347 but 2 sin 10 (radians) = -1.088" + MV_DEG)
    T(t, "74^\\circ", "74", "outside a trig function the degree sign is a unit and may be omitted")
    F(t, "6", "2 3", "two numbers in a row are not a product: '2 3' is no way to write 6")
    F(t, "6", "2\\,3", "a thin space between two numbers is not a product either")
    F(t, "23", "2\\,3", "'2\\,3' is not thousands grouping (that needs groups of 3 digits): two numbers in a"
      " row, refused rather than glued into 23")
    T(t, "1000000", "1 000 000", "SI-style thousands grouping with spaces (groups of exactly 3 digits);"
      " math-verify reads 1 000 000 as the product 1*0*0")
    F(t, "5", "5\\text{ million}", "'million' is a scale word, not a unit: 5 million is 5000000, not 5" + MV_TEXT)
    T(t, "5000000", "5\\text{ million}", "5 million is 5000000" + MV_TEXT + " (so it compares 5 with 5000000)")
    T(t, "2500", "2.5 \\text{ thousand}", "2.5 thousand is 2500" + MV_TEXT + " (so it compares 2.5 with 2500)")
    F(t, "5", "\\text{not } 5", "'not 5' says the opposite of 5: a word that changes the meaning is never dropped"
      " as a unit")
    F(t, "5", "5 \\text{ or more}", "'5 or more' is a bound, not the value 5" + MV_TEXT)
    F(t, "e^{-30}", "0", "e^{-30} = 9.4e-14 is not 0: an absolute tolerance of 1e-12 wrongly accepted it")
    F(t, "\\pi\\cdot10^{-13}", "0", "3.1e-13 is not 0")
    F(t, "\\sqrt2\\cdot10^{-13}", "\\sqrt3\\cdot10^{-13}", "1.41e-13 and 1.73e-13 differ by 22%")
    F(t, "\\frac{1}{\\pi^{30}}", "\\frac{1}{e^{30}}", "1.2e-15 and 9.4e-14 differ by a factor of 77")
    T(t, "0", "\\sin\\pi", "sin(pi) is exactly 0: rounding noise of the numeric test must still cancel")
    F(t, "1,000", "1, 0", "the gold 1,000 is one number (thousands grouping): the answer being a list must not"
      " turn it into the list 1, 0")
    F(t, "12,345", "345, 12", "the gold 12,345 is one number, not the list 12, 345")
    F(t, "12, 345", "12345", "the gold '12, 345' is a list of two numbers (a space after the comma), not 12345")
    n = 120
    T(t, ", ".join(str(k) for k in range(1, n + 1)), ", ".join(str(k) for k in range(n, 0, -1)),
      "a list of 120 values, reordered: matched by sorting exact values (the old pairwise budget gave up)")
    T(t, "201x^2", "+".join(["x^2"] * 201), "201 flat powers are not 201 levels of nesting")
    T(t, "2\\ln 10", "\\log 100", "\\log without a base is read as ln (2 ln 10 = ln 100), the convention of sympy's parse_latex and of"
      " analysis (ISO 80000-2 writes lg for base 10), documented in grade.h; math-verify 0.9.0 reads \\log as"
      " base 10, a different convention")


def build():
    integers()
    fractions()
    radicals()
    constants()
    trig_log()
    factorial_binom()
    big_numbers()
    percent_degrees_units()
    leftright_thousands()
    equations()
    structures()
    variables()
    extraction()
    review()
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES)


def main():
    text = build()
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            same = f.read() == text
        print("corpus.jsonl is up to date" if same else "corpus.jsonl is stale: run make_corpus.py")
        return 0 if same else 1
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    n_true = sum(c["expected"] for c in CASES)
    print(f"wrote {OUT}: {len(CASES)} cases, {n_true} true, {len(CASES) - n_true} false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
