"""Meeting assistant: capture -> spool -> transcription -> summaries, as three processes.

The stages talk only through files in a session folder; `stages.spool` is the contract.
"""
