"""Slot vocabulary (people, companies, projects, days, times...) shared by the scenarios and the email dressing."""

from __future__ import annotations

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
DAY_NAMES = [*DAYS, "Saturday", "Sunday"]

FIRST = [
    ("Sam", "N"), ("Alex", "N"), ("Priya", "F"), ("Jordan", "N"), ("Maria", "F"), ("Tom", "M"),
    ("Aisha", "F"),
    ("Chen", "M"), ("Lucy", "F"), ("Omar", "M"), ("Grace", "F"), ("Daniel", "M"), ("Fatima", "F"),
    ("Luca", "M"),
    ("Hannah", "F"), ("Kenji", "M"), ("Sofia", "F"), ("Ben", "M"), ("Nadia", "F"), ("Raj", "M"),
    ("Emma", "F"),
    ("Carlos", "M"), ("Zoe", "F"), ("Mike", "M"), ("Leila", "F"), ("Noah", "M"), ("Ines", "F"),
    ("Kwame", "M"),
    ("Yuki", "F"), ("Patrick", "M"), ("Olivia", "F"), ("Ahmed", "M"), ("Chloe", "F"), ("Diego", "M"),
    ("Ruth", "F"),
    ("Ivan", "M"), ("Mei", "F"), ("Jamal", "M"), ("Anna", "F"), ("Felix", "M"), ("Taylor", "N"),
    ("Robin", "N"),
    ("Elena", "F"), ("Sean", "M"), ("Amara", "F"), ("Hugo", "M"), ("Nina", "F"), ("Victor", "M"),
    ("Julia", "F"),
    ("Arjun", "M"),
]
LAST = [
    "Patel", "Kim", "Garcia", "Smith", "Nguyen", "Müller", "O'Brien", "Rossi", "Okafor", "Tanaka", "Johnson",
    "Silva",
    "Cohen", "Kowalski", "Andersson", "Dubois", "Haddad", "Lee", "Brown", "Fischer", "Mensah", "Ivanova",
    "Santos",
    "Walsh", "Chen", "Novak", "Hughes", "Bauer", "Khan", "Moreau", "Larsen", "Reyes", "Yamamoto", "Clarke",
    "Ahmed",
    "Murphy", "Schmidt", "Costa", "Wright", "Adeyemi",
]
TITLES = {"F": "Ms.", "M": "Mr.", "N": "Mx."}
COMPANIES = [
    "Acme Corp", "Brightline Logistics", "Castlegate Partners", "Dunmore Foods", "Evergreen Health",
    "Fairway Analytics", "Granite Bank", "Helix Robotics", "Ironbridge Consulting", "Juno Media",
    "Kestrel Air",
    "Lumen Labs", "Maplestone Retail", "Northwind Traders", "Oakridge Legal", "Pioneer Freight", "Quill & Co",
    "Riverside Clinic", "Summit Software", "Tandem Print", "Umbra Studios", "Vista Energy",
    "Westbrook Insurance",
    "Yellowfin Travel", "Zenith Motors",
]
PROJECTS = [
    "Atlas", "Borealis", "Cedar", "Falcon", "Harbor", "Juniper", "Keystone", "Lighthouse", "Meridian",
    "Nimbus",
    "Orion", "Pinecone", "Quartz", "Redwood", "Sapphire", "Tidal", "Vanguard", "Willow", "Zephyr", "Mosaic",
]
PRODUCTS = [
    "CloudSync", "PayFlow", "TrackPro", "Insight 360", "SmartRoster", "DocuVault", "ShipStream", "LedgerLite",
    "the customer portal", "the mobile app", "the booking widget", "the reporting module",
]
SYSTEMS = [
    "the VPN", "the shared drive", "the office Wi-Fi", "Jira", "Salesforce", "the HR portal",
    "the expense tool",
    "Slack", "the build server", "the 3rd floor printer", "Zoom", "Outlook", "the intranet", "SAP",
]
DOCS = [
    "slides", "deck", "contract", "report", "budget spreadsheet", "meeting notes", "proposal", "spec",
    "org chart",
    "Q3 forecast", "onboarding checklist", "signed NDA", "design mockups", "test plan", "pricing sheet",
    "roadmap",
]
DELIVERABLES = [
    "the quarterly report", "the budget draft", "your section of the proposal", "the updated forecast",
    "the design review notes", "the test results", "the hiring plan", "the release notes",
    "the client summary",
    "the board slides", "the pricing analysis", "the vendor comparison", "the risk register",
    "the training plan",
]
EVENTS = [
    "the summer party", "the team offsite", "the holiday dinner", "our product launch event",
    "the quarterly all-hands",
    "the customer summit", "the charity run", "the hackathon", "the leadership workshop", "Friday drinks",
    "the {project} launch party", "a farewell lunch for {other}", "the annual awards night",
    "the team bowling night",
]
VENUES = [
    "the Rooftop Bar", "the Grand Hotel", "Conference Room B", "the Harbourside Pavilion",
    "our London office",
    "the Riverside Café", "the Main Hall", "Pier 9", "the Old Brewery", "the 5th floor terrace",
]
CITIES = [
    "London", "Berlin", "New York", "Chicago", "Singapore", "Toronto", "Madrid", "Dublin", "Austin", "Sydney",
    "Amsterdam", "Tokyo", "Boston", "Paris", "Denver", "Lisbon", "Zurich",
]
ROLES = [
    "Product Manager", "Senior Engineer", "Data Analyst", "Account Executive", "Designer", "Marketing Lead",
    "Operations Manager", "Recruiter", "Finance Analyst", "Support Specialist", "Engineering Manager",
    "Sales Director", "Office Manager", "Head of Partnerships", "QA Lead",
]
TIMES = ["9am", "9:30", "10am", "10:30am", "11am", "noon", "1pm", "1:30pm", "2pm", "2:30pm", "3pm", "3:30pm",
         "4pm",
         "4:30pm"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
PURPOSES = [
    "go over the {project} roadmap", "review the Q3 numbers", "discuss the {company} renewal",
    "walk through the new onboarding flow", "plan the {project} launch", "talk about headcount for next year",
    "sync on the budget", "prep for the board meeting", "discuss the {company} proposal",
    "catch up on hiring",
    "review the {doc}", "go through the {project} retro actions", "align on pricing for {product}",
]
REASONS = ["a family wedding", "a long weekend away", "moving house", "my sister's graduation",
           "a bit of rest"]
HOTELS = ["the Hilton", "the Marriott", "the Hoxton", "Premier Inn", "the Radisson"]
SERVICES = ["consulting services", "design work", "cloud hosting", "catering", "freight", "legal review",
            "software licences", "support hours", "printing", "the training workshop", "office cleaning"]
