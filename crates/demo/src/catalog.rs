//! The shop's products, shared by both shop versions and the stats API.

pub struct Product {
    pub id: &'static str,
    pub title: &'static str,
    /// In cents, so that totals are exact.
    pub price_cents: u64,
}

pub const PRODUCTS: &[Product] = &[
    Product { id: "B001", title: "Stainless Steel Travel Mug 16oz", price_cents: 1899 },
    Product { id: "B002", title: "Ceramic Coffee Mug Set of 4", price_cents: 3250 },
    Product { id: "B003", title: "Wireless Ergonomic Mouse", price_cents: 2499 },
    Product { id: "B004", title: "Mechanical Keyboard with Brown Switches", price_cents: 7900 },
    Product { id: "B005", title: "USB-C Laptop Charger 65W", price_cents: 3995 },
    Product { id: "B006", title: "Aluminium Laptop Stand", price_cents: 2999 },
    Product { id: "B007", title: "Noise Cancelling Headphones", price_cents: 14900 },
    Product { id: "B008", title: "Insulated Water Bottle 1L", price_cents: 2100 },
    Product { id: "B009", title: "Desk Lamp with USB Port", price_cents: 3490 },
    Product { id: "B010", title: "Dotted Notebook A5", price_cents: 950 },
];

/// Products whose title contains every word of the query, in catalog order.
pub fn search(query: &str) -> Vec<&'static Product> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return Vec::new();
    }
    PRODUCTS
        .iter()
        .filter(|p| {
            let title = p.title.to_lowercase();
            words.iter().all(|w| title.contains(w.as_str()))
        })
        .collect()
}

pub fn find(id: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id == id)
}

pub fn dollars(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}
