"""Text analytics on every customer's words: sentiment, emotions, language and key phrases.

Pure functions (no tables): callers store the results where the text lives (interactions, survey responses).
Use as `from cxloop import textanalytics` then `textanalytics.analyse(text)`.
"""

from cxloop.textanalytics.analysis import EMOTIONS, TextAnalysis, analyse, analyse_many

__all__ = ["EMOTIONS", "TextAnalysis", "analyse", "analyse_many"]
