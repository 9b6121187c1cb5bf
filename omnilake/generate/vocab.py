"""Fixed word lists the generator draws from: names, cities, catalogue words, user agents.

Everything here is invented or public reference data (city coordinates, time zones, area codes).
E-mail domains are reserved names (RFC 2606 / RFC 6761) so no generated address can reach a person.
"""

from __future__ import annotations

from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    """A comma-separated list written as a paragraph (names may contain spaces)."""
    return tuple(" ".join(word.split()) for word in text.split(",") if word.strip())


FIRST_NAMES = _words(
    """
    James, Mary, Robert, Patricia, John, Jennifer, Michael, Linda, David, Elizabeth, William, Barbara,
    Richard, Susan, Joseph, Jessica, Thomas, Sarah, Charles, Karen, Christopher, Lisa, Daniel, Nancy,
    Matthew, Betty, Anthony, Sandra, Mark, Margaret, Donald, Ashley, Steven, Kimberly, Andrew, Emily,
    Paul, Donna, Joshua, Michelle, Kenneth, Carol, Kevin, Amanda, Brian, Melissa, George, Deborah,
    Timothy, Stephanie, Ronald, Rebecca, Jason, Sharon, Edward, Laura, Jeffrey, Cynthia, Ryan, Dorothy,
    Jacob, Amy, Gary, Kathleen, Nicholas, Angela, Eric, Shirley, Jonathan, Emma, Stephen, Brenda, Larry,
    Pamela, Justin, Nicole, Scott, Anna, Brandon, Samantha, Benjamin, Katherine, Samuel, Christine,
    Gregory, Debra, Alexander, Rachel, Patrick, Carolyn, Frank, Janet, Raymond, Maria, Jack, Olivia,
    Dennis, Heather, Jerry, Helen, Tyler, Catherine, Aaron, Diane, Jose, Julie, Adam, Victoria, Nathan,
    Joyce, Henry, Lauren, Zachary, Kelly, Douglas, Christina, Peter, Ruth, Kyle, Joan, Noah, Virginia,
    Ethan, Judith, Jeremy, Evelyn, Christian, Hannah, Walter, Andrea, Keith, Megan, Austin, Cheryl,
    Roger, Jacqueline, Terry, Madison, Sean, Teresa, Gerald, Abigail, Carl, Sophia, Dylan, Martha,
    Harold, Sara, Jordan, Gloria, Jesse, Janice, Bryan, Kathryn, Lawrence, Ann, Arthur, Isabella,
    Gabriel, Judy, Bruce, Charlotte, Logan, Julia, Billy, Grace, Joe, Amber, Alan, Alice, Juan, Jean,
    Elijah, Denise, Willie, Frances, Albert, Danielle, Wayne, Marilyn, José, Zoë, Chloé, Renée, Björn,
    Siobhán, Nuño, Dominique, Aïcha, Mei, Hiroshi, Priya, Arjun, Fatima, Omar, Ngozi, Kwame, Ana, Luis,
    Sofía, Mateo, Camila
    """
)

LAST_NAMES = _words(
    """
    Smith, Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, Hernandez,
    Lopez, Gonzalez, Wilson, Anderson, Thomas, Taylor, Moore, Jackson, Martin, Lee, Perez, Thompson,
    White, Harris, Sanchez, Clark, Ramirez, Lewis, Robinson, Walker, Young, Allen, King, Wright, Scott,
    Torres, Nguyen, Hill, Flores, Green, Adams, Nelson, Baker, Hall, Rivera, Campbell, Mitchell, Carter,
    Roberts, Gomez, Phillips, Evans, Turner, Diaz, Parker, Cruz, Edwards, Collins, Reyes, Stewart,
    Morris, Morales, Murphy, Cook, Rogers, Gutierrez, Ortiz, Morgan, Cooper, Peterson, Bailey, Reed,
    Kelly, Howard, Ramos, Kim, Cox, Ward, Richardson, Watson, Brooks, Chavez, Wood, James, Bennett,
    Gray, Mendoza, Ruiz, Hughes, Price, Alvarez, Castillo, Sanders, Patel, Myers, Long, Ross, Foster,
    Jimenez, Powell, Jenkins, Perry, Russell, Sullivan, Bell, Coleman, Butler, Henderson, Barnes,
    Gonzales, Fisher, Vasquez, Simmons, Romero, Jordan, Patterson, Alexander, Hamilton, Graham,
    Reynolds, Griffin, Wallace, Moreno, West, Cole, Hayes, Bryant, Herrera, Gibson, Ellis, Tran, Medina,
    Aguilar, Stevens, Murray, Ford, Castro, Marshall, Owens, O'Brien, O'Connor, McDonald, MacLeod, Van
    der Berg, De la Cruz, Müller, Núñez, Peña, Løvgren, Kowalski, Nakamura, Okafor, Mensah, Haddad,
    Cohen, Singh, Chen
    """
)

# Reserved names: example.com/.net/.org (RFC 2606) and the .example/.test TLDs (RFC 6761).
PERSONAL_EMAIL_DOMAINS = (
    ("example.com", 30),
    ("example.net", 22),
    ("example.org", 12),
    ("mail.example", 14),
    ("inbox.test", 12),
    ("post.test", 10),
)
WORK_EMAIL_DOMAINS = ("corp.example", "work.test", "company.example", "office.test")


@dataclass(frozen=True)
class City:
    name: str
    state: str
    latitude: float
    longitude: float
    time_zone: str
    area_codes: tuple[int, ...]
    zip_prefix: str


# Ordered so the first ten (scale 1) already span six time zones, two of them without daylight saving.
CITIES = (
    City("New York", "NY", 40.7128, -74.0060, "America/New_York", (212, 646, 718, 917), "100"),
    City("Chicago", "IL", 41.8781, -87.6298, "America/Chicago", (312, 773, 872), "606"),
    City("Los Angeles", "CA", 34.0522, -118.2437, "America/Los_Angeles", (213, 310, 323), "900"),
    City("Boston", "MA", 42.3601, -71.0589, "America/New_York", (617, 857), "021"),
    City("Denver", "CO", 39.7392, -104.9903, "America/Denver", (303, 720), "802"),
    City("Phoenix", "AZ", 33.4484, -112.0740, "America/Phoenix", (480, 602, 623), "850"),
    City("Seattle", "WA", 47.6062, -122.3321, "America/Los_Angeles", (206, 425), "981"),
    City("Honolulu", "HI", 21.3069, -157.8583, "Pacific/Honolulu", (808,), "968"),
    City("Dallas", "TX", 32.7767, -96.7970, "America/Chicago", (214, 469, 972), "752"),
    City("Miami", "FL", 25.7617, -80.1918, "America/New_York", (305, 786), "331"),
    City("Atlanta", "GA", 33.7490, -84.3880, "America/New_York", (404, 678, 770), "303"),
    City("Anchorage", "AK", 61.2181, -149.9003, "America/Anchorage", (907,), "995"),
    City("Portland", "OR", 45.5152, -122.6784, "America/Los_Angeles", (503, 971), "972"),
    City("San Diego", "CA", 32.7157, -117.1611, "America/Los_Angeles", (619, 858), "921"),
    City("Minneapolis", "MN", 44.9778, -93.2650, "America/Chicago", (612, 952), "554"),
    City("Philadelphia", "PA", 39.9526, -75.1652, "America/New_York", (215, 267), "191"),
    City("Houston", "TX", 29.7604, -95.3698, "America/Chicago", (713, 281, 832), "770"),
    City("Detroit", "MI", 42.3314, -83.0458, "America/Detroit", (313,), "482"),
    City("Nashville", "TN", 36.1627, -86.7816, "America/Chicago", (615, 629), "372"),
    City("Salt Lake City", "UT", 40.7608, -111.8910, "America/Denver", (801, 385), "841"),
    City("San Francisco", "CA", 37.7749, -122.4194, "America/Los_Angeles", (415, 628), "941"),
    City("Austin", "TX", 30.2672, -97.7431, "America/Chicago", (512, 737), "787"),
    City("Charlotte", "NC", 35.2271, -80.8431, "America/New_York", (704, 980), "282"),
    City("Pittsburgh", "PA", 40.4406, -79.9959, "America/New_York", (412, 878), "152"),
    City("Kansas City", "MO", 39.0997, -94.5786, "America/Chicago", (816,), "641"),
    City("Tucson", "AZ", 32.2226, -110.9747, "America/Phoenix", (520,), "857"),
    City("Las Vegas", "NV", 36.1699, -115.1398, "America/Los_Angeles", (702, 725), "891"),
    City("Indianapolis", "IN", 39.7684, -86.1581, "America/Indiana/Indianapolis", (317,), "462"),
    City("Columbus", "OH", 39.9612, -82.9988, "America/New_York", (614, 380), "432"),
    City("New Orleans", "LA", 29.9511, -90.0715, "America/Chicago", (504,), "701"),
)

STORE_FORMATS = (("mall", 5), ("high_street", 3), ("flagship", 1), ("outlet", 2))
STORE_AREAS = ("Downtown", "Midtown", "Riverside", "Uptown", "Northgate", "Westfield", "Harbor", "Park")

# (category, subcategory, low list price in cents, high list price in cents, nouns)
CATEGORIES = (
    ("Apparel", "Tops", 1299, 5999, ("T-Shirt", "Linen Shirt", "Polo", "Blouse", "Henley")),
    ("Apparel", "Bottoms", 2499, 8999, ("Chinos", "Jeans", "Shorts", "Skirt", "Joggers")),
    ("Apparel", "Outerwear", 4999, 24999, ("Rain Jacket", "Parka", "Fleece", "Puffer Vest", "Blazer")),
    ("Footwear", "Sneakers", 3999, 14999, ("Runner", "Court Sneaker", "Trail Shoe", "Slip-On")),
    ("Footwear", "Boots", 6999, 22999, ("Chelsea Boot", "Hiking Boot", "Ankle Boot")),
    ("Accessories", "Bags", 1999, 17999, ("Tote", "Backpack", "Crossbody Bag", "Duffel")),
    ("Accessories", "Small Goods", 599, 4999, ("Beanie", "Scarf", "Belt", "Wallet", "Cap", "Socks 3-Pack")),
    ("Home", "Kitchen", 799, 12999, ("Mug Set", "Chef Knife", "Cutting Board", "Pour-Over Kettle")),
    ("Home", "Living", 1499, 19999, ("Throw Blanket", "Cushion Cover", "Table Lamp", "Candle")),
    ("Beauty", "Skincare", 899, 6999, ("Face Cream", "Cleanser", "Serum", "Lip Balm")),
    ("Outdoor", "Camping", 1999, 29999, ("Tent", "Sleeping Bag", "Camp Stove", "Headlamp")),
    ("Kids", "Toys", 999, 7999, ("Puzzle", "Building Set", "Plush Bear", "Kite")),
)
BRANDS = _words(
    """
    Northwind, Harbor & Pine, Eastlake, Tallgrass, Bluefin, Copperline, Fieldhouse, Meridian, Oakhollow,
    Saltmarsh, Ridgeback, Lumen, Granite Peak, Wildflower, Ember Co., Foxglove, Ironbark, Seabright,
    Kestrel, Silverleaf
    """
)
ADJECTIVES = _words(
    """
    Classic, Everyday, Organic, Recycled, Lightweight, Heritage, Premium, Essential, Relaxed, Slim,
    Vintage, Coastal, Alpine, Urban, Soft, Weatherproof
    """
)
COLORS = ("Black", "White", "Navy", "Olive", "Sand", "Grey", "Rust", "Sky", "Forest", "Burgundy")

STORE_TENDERS = (("card", 64), ("cash", 15), ("mobile_wallet", 16), ("gift_card", 5))
DISCOUNT_CODES = (("WELCOME10", 10), ("SPRING15", 15), ("LOYAL20", 20), ("FREESHIP", 0))
CANCEL_REASONS = (("customer", 55), ("inventory", 20), ("fraud", 10), ("declined", 15))

# (device kind, weight, user agent, Segment library name, library version)
WEB_USER_AGENTS = {
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
    ),
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
    ),
}
APP_DEVICES = {
    "ios": ("Apple", ("iPhone15,2", "iPhone14,5", "iPhone16,1"), "iOS", ("17.3", "17.2.1", "16.7.5")),
    "android": ("Google", ("Pixel 8", "Pixel 7a", "SM-S911B"), "Android", ("14", "13")),
}
APP_USER_AGENTS = {
    "ios": "Omnilake Shop/5.12.0 (iPhone; iOS 17.3; Scale/3.00)",
    "android": "Omnilake Shop/5.12.0 (Linux; U; Android 14; Pixel 8)",
}
KIOSK_USER_AGENT = (
    "Mozilla/5.0 (X11; CrOS x86_64 15633.69.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 OmnilakeKiosk/2.4"
)
