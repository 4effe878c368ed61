"""The resolution layer (ARCHITECTURE §8): what a record names -> what the KG and checks know.

Each resolver reads facts as the FHIR parser left them and says, for each, what it became, how
(code system and code, parsed name, brand, fuzzy) and with what confidence; what does not resolve
is listed with why, never dropped.
"""
