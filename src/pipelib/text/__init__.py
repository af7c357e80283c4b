"""Text side of the pipeline: a word-level vocabulary and the text encoders (learned or local BERT).

Corpora arrive already tokenised and lower-cased, so a sentence's tokens are its whitespace-split words.
"""
