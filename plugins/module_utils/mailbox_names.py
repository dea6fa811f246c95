# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Common first and last names of English-speaking markets, for realistic mailbox names.

Used by ``coldrig.infra.mailboxes`` (``plugins/module_utils/mailboxes.py``) to make local parts
such as ``emma.walker`` and display names such as ``Emma Walker``. Every entry is ASCII,
lowercase, letters only, and capitalises correctly with ``str.capitalize()`` (no McDonald,
O'Brien or hyphenated names), so that a local part needs no escaping anywhere and the display
name reads right. The lists are sorted and have no duplicates; the unit tests check all of it.

Changing a list changes which names can be made from now on, never an existing mailbox: the
names already used for a domain live in its users file and its history.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FIRST_NAMES = (
    "aaron", "abigail", "adam", "aidan", "alan", "albert", "alex", "alexander", "alexis", "alice",
    "alison", "amanda", "amber", "amelia", "amy", "andrea", "andrew", "angela", "anna", "anne",
    "anthony", "arthur", "ashley", "austin", "barbara", "benjamin", "beth", "bethany", "beverly", "bradley",
    "brandon", "brenda", "brian", "bruce", "bryan", "caitlin", "caleb", "callum", "cameron", "carl",
    "carol", "caroline", "carolyn", "catherine", "charles", "charlotte", "chelsea", "chloe", "christian", "christina",
    "christine", "christopher", "claire", "colin", "connor", "craig", "cynthia", "daniel", "danielle", "david",
    "deborah", "denise", "dennis", "diana", "diane", "donald", "donna", "douglas", "dylan", "edward",
    "eleanor", "elijah", "elizabeth", "ella", "emily", "emma", "eric", "erin", "ethan", "eugene",
    "evan", "evelyn", "fiona", "frances", "frank", "gabriel", "gary", "gavin", "george", "georgia",
    "gerald", "gloria", "grace", "gregory", "hannah", "harold", "harry", "heather", "helen", "henry",
    "holly", "ian", "isaac", "isabella", "jack", "jacob", "jacqueline", "jade", "james", "jamie",
    "janet", "janice", "jason", "jean", "jeffrey", "jennifer", "jeremy", "jesse", "jessica", "joan",
    "joanne", "joe", "john", "jonathan", "jordan", "joseph", "joshua", "joyce", "judith", "julia",
    "julie", "justin", "karen", "katherine", "kathleen", "kathryn", "katie", "kayla", "keith", "kelly",
    "kenneth", "kevin", "kimberly", "kyle", "laura", "lauren", "lawrence", "leah", "liam", "linda",
    "lisa", "logan", "louise", "lucy", "luke", "madison", "margaret", "maria", "marie", "marilyn",
    "mark", "martha", "martin", "mary", "mason", "matthew", "megan", "melissa", "michael", "michelle",
    "molly", "nancy", "natalie", "nathan", "neil", "nicholas", "nicole", "noah", "oliver", "olivia",
    "owen", "pamela", "patricia", "patrick", "paul", "peter", "philip", "rachel", "raymond", "rebecca",
    "richard", "robert", "roger", "ronald", "rose", "russell", "ruth", "ryan", "samantha", "samuel",
    "sandra", "sara", "sarah", "scott", "sean", "sharon", "shirley", "simon", "sophia", "sophie",
    "stephanie", "stephen", "steven", "stuart", "susan", "teresa", "theresa", "thomas", "timothy", "tyler",
    "victoria", "vincent", "walter", "wayne", "william", "zachary", "zoe",
)

LAST_NAMES = (
    "adams", "allen", "anderson", "andrews", "armstrong", "arnold", "austin", "bailey", "baker", "barker",
    "barnes", "barrett", "bates", "baxter", "bell", "bennett", "berry", "bishop", "black", "bowen",
    "boyd", "bradley", "brooks", "brown", "bryant", "burke", "burns", "butler", "byrne", "campbell",
    "carpenter", "carroll", "carter", "chambers", "chapman", "clark", "clarke", "cole", "coleman", "collins",
    "cook", "cooper", "cox", "crawford", "cunningham", "curtis", "daniels", "davies", "davis", "dawson",
    "dean", "dixon", "doyle", "duncan", "dunn", "edwards", "elliott", "ellis", "evans", "ferguson",
    "fisher", "fleming", "fletcher", "ford", "foster", "fowler", "fox", "francis", "franklin", "fraser",
    "gardner", "gibson", "gilbert", "gordon", "graham", "grant", "gray", "green", "greene", "griffin",
    "hall", "hamilton", "hansen", "hardy", "harper", "harris", "harrison", "hart", "harvey", "hawkins",
    "hayes", "henderson", "hill", "hoffman", "holland", "holmes", "hopkins", "howard", "hudson", "hughes",
    "hunt", "hunter", "jackson", "jenkins", "johnson", "johnston", "jones", "jordan", "kelly", "kemp",
    "kennedy", "king", "knight", "lambert", "lane", "lawrence", "lawson", "lee", "lewis", "little",
    "lloyd", "long", "lowe", "lynch", "mann", "marsh", "marshall", "martin", "mason", "matthews",
    "miller", "mills", "mitchell", "moore", "morgan", "morris", "morrison", "murphy", "murray", "myers",
    "nelson", "newton", "nichols", "norris", "olson", "owens", "page", "palmer", "parker", "payne",
    "pearson", "perkins", "perry", "peters", "peterson", "phillips", "pierce", "porter", "powell", "price",
    "quinn", "reed", "reid", "reynolds", "rhodes", "rice", "richards", "richardson", "riley", "roberts",
    "robertson", "robinson", "rogers", "ross", "russell", "ryan", "sanders", "scott", "sharp", "shaw",
    "simpson", "smith", "snyder", "spencer", "stevens", "stevenson", "stewart", "stone", "sullivan", "sutton",
    "taylor", "thomas", "thompson", "tucker", "turner", "walker", "wallace", "walsh", "walters", "walton",
    "ward", "warren", "watkins", "watson", "weaver", "webb", "webster", "wells", "west", "wheeler",
    "whitaker", "white", "wilkinson", "williams", "willis", "wilson", "wood", "woods", "wright", "young",
)
