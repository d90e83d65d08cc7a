// A storefront built on the real @medusajs/js-sdk, driven against an erpcommerce server.
//
// Usage: node storefront_flow.mjs --credentials <data-dir>/credentials.json [--base-url http://127.0.0.1:9000]
// (or the environment variables ERPCOMMERCE_BASE_URL and ERPCOMMERCE_PUBLISHABLE_KEY).
//
// Runs the flow of the Store API contract (reference §6, test-harness note) step by step, asserts
// every response, and prints one JSON summary line on stdout. Exits 1 on the first failure, with a
// JSON line naming the step, the error and, for HTTP errors, the status.

import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"

import Medusa, { FetchError } from "@medusajs/js-sdk"

const SDK_VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/@medusajs/js-sdk/package.json", import.meta.url), "utf8"),
).version
const AMOUNT_TOLERANCE = 1e-9
const steps = []

function readConfig() {
  const { values } = parseArgs({
    options: { credentials: { type: "string" }, "base-url": { type: "string" } },
  })
  const fromFile = values.credentials ? JSON.parse(readFileSync(values.credentials, "utf8")) : {}
  const baseUrl = values["base-url"] ?? process.env.ERPCOMMERCE_BASE_URL ?? fromFile.base_url
  const publishableKey = process.env.ERPCOMMERCE_PUBLISHABLE_KEY ?? fromFile.publishable_api_key
  assert.ok(baseUrl, "a base URL is required (--base-url or credentials.json base_url)")
  assert.ok(publishableKey, "a publishable key is required (credentials.json publishable_api_key)")
  return { baseUrl: baseUrl.replace(/\/+$/, ""), publishableKey }
}

function newSdk(baseUrl, publishableKey) {
  // In Node the default token storage is "nostore": "memory" keeps the JWT between calls.
  return new Medusa({
    baseUrl,
    publishableKey,
    auth: { type: "jwt", jwtTokenStorageMethod: "memory" },
  })
}

async function step(name, action) {
  const started = performance.now()
  try {
    const result = await action()
    steps.push({ step: name, ms: Math.round((performance.now() - started) * 10) / 10 })
    return result
  } catch (error) {
    error.step = name
    throw error
  }
}

/** Awaits a call that must fail with a FetchError of `status`; returns the error. */
async function rejectsWith(status, call, messagePattern) {
  let caught
  try {
    await call()
  } catch (error) {
    caught = error
  }
  assert.ok(caught, `expected HTTP ${status}, but the call succeeded`)
  assert.ok(caught instanceof FetchError, `expected a FetchError, got ${caught}`)
  assert.equal(caught.status, status, `expected HTTP ${status}, got ${caught.status}: ${caught.message}`)
  if (messagePattern) {
    assert.match(caught.message, messagePattern)
  }
  return caught
}

function assertAmount(actual, expected, what) {
  assert.equal(typeof actual, "number", `${what} must be a JSON number, got ${JSON.stringify(actual)}`)
  assert.ok(Math.abs(actual - expected) < AMOUNT_TOLERANCE, `${what}: expected ${expected}, got ${actual}`)
}

function assertCartTotals(cart, expectedSubtotal) {
  assertAmount(cart.item_subtotal, expectedSubtotal, "cart.item_subtotal")
  assertAmount(cart.subtotal, expectedSubtotal, "cart.subtotal")
  for (const field of ["total", "tax_total", "discount_total", "shipping_total", "item_total"]) {
    assert.equal(typeof cart[field], "number", `cart.${field} must be a JSON number`)
  }
  const expectedTotal = cart.subtotal + cart.tax_total + cart.shipping_total - cart.discount_total
  assertAmount(cart.total, expectedTotal, "cart.total")
}

/** The first variant a storefront can sell: priced, and not limited to fewer than 2 in stock. */
function pickVariant(products) {
  for (const product of products) {
    for (const variant of product.variants ?? []) {
      const price = variant.calculated_price
      const stocked = !variant.manage_inventory || variant.allow_backorder || variant.inventory_quantity >= 2
      if (price && typeof price.calculated_amount === "number" && stocked) {
        return { product, variant }
      }
    }
  }
  assert.fail("no product has a priced variant with stock for 2 items")
}

async function browse(sdk) {
  const { regions, count } = await step("region.list", () => sdk.store.region.list())
  assert.ok(regions.length > 0, "the seeded store has no region")
  assert.equal(typeof count, "number")
  const region = regions[0]
  assert.match(region.id, /^reg_/)
  assert.ok(Array.isArray(region.countries) && region.countries.length > 0, "region.countries is empty")
  assert.ok(region.countries.every((country) => typeof country.iso_2 === "string"))

  const listed = await step("product.list", () =>
    sdk.store.product.list({ region_id: region.id, fields: "*variants.calculated_price", limit: 20 }),
  )
  assert.ok(listed.products.length > 0, "the seeded store lists no product")
  assert.equal(typeof listed.count, "number")
  const { product, variant } = pickVariant(listed.products)
  assert.match(product.id, /^prod_/)
  assert.match(variant.id, /^variant_/)
  assert.equal(variant.calculated_price.currency_code, region.currency_code)
  assert.equal(typeof variant.calculated_price.original_amount, "number")
  return { region, product, variant, price: variant.calculated_price.calculated_amount }
}

async function fillCart(sdk, { region, variant, price }) {
  const created = await step("cart.create", () => sdk.store.cart.create({ region_id: region.id }))
  const cartId = created.cart.id
  assert.match(cartId, /^cart_/)
  assert.equal(created.cart.region_id, region.id)
  assert.equal(created.cart.currency_code, region.currency_code)
  assert.deepEqual(created.cart.items, [])

  let { cart } = await step("cart.createLineItem", () =>
    sdk.store.cart.createLineItem(cartId, { variant_id: variant.id, quantity: 1 }),
  )
  assert.equal(cart.items.length, 1)
  const [item] = cart.items
  assert.match(item.id, /^cali_/)
  assert.equal(item.variant_id, variant.id)
  assert.equal(item.quantity, 1)
  assertAmount(item.unit_price, price, "item.unit_price")
  assertCartTotals(cart, price)

  cart = (await step("cart.updateLineItem", () => sdk.store.cart.updateLineItem(cartId, item.id, { quantity: 2 }))).cart
  assert.equal(cart.items.length, 1)
  assert.equal(cart.items[0].quantity, 2)
  assertCartTotals(cart, 2 * price)

  const deleted = await step("cart.deleteLineItem", () => sdk.store.cart.deleteLineItem(cartId, item.id))
  assert.equal(deleted.id, item.id)
  assert.equal(deleted.object, "line-item")
  assert.equal(deleted.deleted, true)
  assert.equal(deleted.parent.id, cartId)
  assert.deepEqual(deleted.parent.items, [])

  cart = (await step("cart.createLineItem", () =>
    sdk.store.cart.createLineItem(cartId, { variant_id: variant.id, quantity: 1 }),
  )).cart
  assert.equal(cart.items.length, 1)
  assertCartTotals(cart, price)

  const email = `sdk-buyer-${Date.now()}@example.com`
  cart = (await step("cart.update", () => sdk.store.cart.update(cartId, { email }))).cart
  assert.equal(cart.email, email)
  return cart
}

async function checkout(sdk, cart) {
  const { payment_collection: collection } = await step("payment.initiatePaymentSession", () =>
    sdk.store.payment.initiatePaymentSession(cart, { provider_id: "pp_system_default" }),
  )
  assert.ok(collection.id, "payment_collection.id is missing")
  assertAmount(collection.amount, cart.total, "payment_collection.amount")
  assert.equal(collection.payment_sessions.length, 1)
  assert.equal(collection.payment_sessions[0].provider_id, "pp_system_default")
  assert.equal(collection.payment_sessions[0].status, "pending")

  const refreshed = (await step("cart.retrieve", () => sdk.store.cart.retrieve(cart.id))).cart
  assert.equal(refreshed.payment_collection?.id, collection.id)

  const completed = await step("cart.complete", () => sdk.store.cart.complete(cart.id))
  assert.equal(completed.type, "order", `cart.complete returned ${JSON.stringify(completed).slice(0, 300)}`)
  const { order } = completed
  assert.match(order.id, /^order_/)
  assert.equal(order.email, cart.email)
  assert.equal(order.currency_code, cart.currency_code)
  assert.equal(order.items.length, 1)
  assert.equal(order.items[0].variant_id, cart.items[0].variant_id)
  assertAmount(order.total, cart.total, "order.total")

  const again = await step("cart.complete (again)", () => sdk.store.cart.complete(cart.id))
  assert.equal(again.type, "order")
  assert.equal(again.order.id, order.id, "completing twice must return the same order")
  return order
}

async function signUp(sdk) {
  const email = `sdk-customer-${Date.now()}@example.com`
  const password = "sdk-Secret-42"
  const registered = await step("auth.register", () =>
    sdk.auth.register("customer", "emailpass", { email, password }),
  )
  assert.equal(typeof registered, "string")

  const { customer: created } = await step("customer.create", () =>
    sdk.store.customer.create({ email, first_name: "Ada", last_name: "Lovelace" }),
  )
  assert.match(created.id, /^cus_/)
  assert.equal(created.email, email)

  const token = await step("auth.login", () => sdk.auth.login("customer", "emailpass", { email, password }))
  assert.equal(typeof token, "string", `login needs more steps: ${JSON.stringify(token)}`)

  const { customer } = await step("customer.retrieve", () => sdk.store.customer.retrieve())
  assert.equal(customer.id, created.id)
  assert.equal(customer.email, email)
  assert.equal(customer.first_name, "Ada")
  assert.equal(customer.has_account, true)

  const { cart } = await step("cart.create (signed in)", () => sdk.store.cart.create({}))
  assert.equal(cart.customer_id, customer.id, "a cart created with a customer token belongs to the customer")
  return { customer, email, password }
}

async function unhappyPaths({ baseUrl, publishableKey, region, variant, completedCartId, email }) {
  const guest = newSdk(baseUrl, publishableKey)
  const keyless = newSdk(baseUrl, undefined)
  await step("unknown cart → 404", () => rejectsWith(404, () => guest.store.cart.retrieve("cart_unknown")))
  await step("unknown product → 404", () => rejectsWith(404, () => guest.store.product.retrieve("prod_unknown")))
  await step("missing publishable key → 400", () =>
    rejectsWith(400, () => keyless.store.region.list(), /x-publishable-api-key/),
  )
  await step("quantity 0 → 400", async () => {
    const { cart } = await guest.store.cart.create({ region_id: region.id })
    await rejectsWith(400, () => guest.store.cart.createLineItem(cart.id, { variant_id: variant.id, quantity: 0 }))
  })
  await step("empty cart completion → 400", async () => {
    const { cart } = await guest.store.cart.create({ region_id: region.id })
    await rejectsWith(400, () => guest.store.cart.complete(cart.id))
  })
  await step("update completed cart → 400", () =>
    rejectsWith(400, () => guest.store.cart.update(completedCartId, { email: "late@example.com" })),
  )
  await step("wrong password → 401", () =>
    rejectsWith(401, () => keyless.auth.login("customer", "emailpass", { email, password: "nope-Nope-1" })),
  )
  await step("register twice → 401", () =>
    rejectsWith(401, () => keyless.auth.register("customer", "emailpass", { email, password: "x-Y-z-123456" })),
  )
  await step("anonymous customer.retrieve → 401", () =>
    rejectsWith(401, () => guest.store.customer.retrieve()),
  )
}

async function main() {
  const started = performance.now()
  const { baseUrl, publishableKey } = readConfig()
  const sdk = newSdk(baseUrl, publishableKey)
  const shop = await browse(sdk)
  const cart = await fillCart(sdk, shop)
  const order = await checkout(sdk, cart)
  const account = await signUp(sdk)
  await unhappyPaths({ ...shop, baseUrl, publishableKey, completedCartId: cart.id, email: account.email })
  console.log(JSON.stringify({
    ok: true,
    sdk_version: SDK_VERSION,
    base_url: baseUrl,
    region_id: shop.region.id,
    cart_id: cart.id,
    order_id: order.id,
    customer_id: account.customer.id,
    steps: steps.length,
    total_ms: Math.round(performance.now() - started),
    timings: steps,
  }))
}

main().catch((error) => {
  console.log(JSON.stringify({
    ok: false,
    sdk_version: SDK_VERSION,
    step: error.step ?? null,
    error: error.message,
    status: error.status ?? null,
    passed_steps: steps.map((entry) => entry.step),
  }))
  process.exitCode = 1
})
