/**
 * A Node program written the way an odata2ts user writes one: the service class, models and query
 * objects are generated from the gateway's $metadata (`npm run generate`, into build/generated/), the
 * HTTP client is odata2ts' fetch client with a bearer token.
 *
 * Environment: FNO_BASE_URL (e.g. http://127.0.0.1:8000/data/), FNO_TOKEN (a bearer token),
 * FNO_MIN_CREDIT (the credit limit step 1 filters above), FNO_NAV_CUSTOMER (the customer whose sales
 * orders step 3 reads), FNO_NEW_GROUP (the id of the customer group step 4 creates and then updates).
 * It prints one JSON object per line, {"step": ..., "result": ...}; tests/clients/test_typescript_client.py
 * compares each line with SQL over the physical tables.
 */
import { FetchClient } from "@odata2ts/http-client-fetch";

import { CustVendorBlocked } from "../build/generated/MicrosoftDynamicsDataEntitiesModel";
import { MicrosoftDynamicsDataEntitiesService } from "../build/generated/MicrosoftDynamicsDataEntitiesService";

function print(step: string, result: unknown): void {
  console.log(JSON.stringify({ step, result }));
}

async function main(): Promise<void> {
  const baseUrl = process.env.FNO_BASE_URL ?? "http://127.0.0.1:8000/data/";
  const token = process.env.FNO_TOKEN;
  const minCredit = Number(process.env.FNO_MIN_CREDIT ?? "50000");
  const navCustomer = process.env.FNO_NAV_CUSTOMER ?? "US-001";
  const newGroup = process.env.FNO_NEW_GROUP ?? "TS-01";
  const client = new FetchClient({ headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const fno = new MicrosoftDynamicsDataEntitiesService(client, baseUrl.replace(/\/$/, ""));

  // 1. A typed query: filter, order, top, select, count.
  const top = await fno.CustomersV3().query((builder, q) =>
    builder
      .select("CustomerAccount", "OrganizationName", "CreditLimit", "OnHoldStatus")
      .filter(q.CreditLimit.gt(minCredit), q.OnHoldStatus.eq(CustVendorBlocked.No))
      .orderBy(q.CreditLimit.desc(), q.CustomerAccount.asc())
      .top(5)
      .count(),
  );
  print("top_customers", { count: top.data["@odata.count"], value: top.data.value });

  // 2. String functions and `or`, through the query objects.
  const named = await fno.CustomersV3().query((builder, q) =>
    builder
      .select("CustomerAccount", "OrganizationName")
      .filter(q.OrganizationName.startsWith("C").or(q.OrganizationName.contains("Outlet")))
      .orderBy(q.CustomerAccount.asc()),
  );
  print("named_customers", named.data.value.map((row) => row.CustomerAccount));

  // 3. Navigation: a customer's sales orders.
  const orders = await fno
    .CustomersV3({ dataAreaId: "usmf", CustomerAccount: navCustomer })
    .SalesOrders()
    .query((builder, q) => builder.select("SalesOrderNumber", "SalesOrderStatus").orderBy(q.SalesOrderNumber.asc()));
  print("orders_of_customer", orders.data.value.map((row) => [row.SalesOrderNumber, row.SalesOrderStatus]));

  // 4. Create an entity, then update it, then read it back.
  const groups = fno.CustomerGroups();
  const created = await groups.create({
    dataAreaId: "usmf",
    CustomerGroupId: newGroup,
    Description: "Created by odata2ts",
    PaymentTermId: "Net30",
  });
  print("created", { status: created.status, data: created.data });
  const group = fno.CustomerGroups({ dataAreaId: "usmf", CustomerGroupId: newGroup });
  const patched = await group.patch({ Description: "Updated by odata2ts" });
  print("patched", { status: patched.status });
  const reread = await group.query((builder) => builder.select("CustomerGroupId", "Description", "PaymentTermId"));
  print("reread", reread.data);
}

main().catch((error: unknown) => {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`odata2ts client failed: ${detail}`);
  process.exit(1);
});
