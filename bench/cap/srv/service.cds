// The same entity sets and property names as the gateway's catalog (entities/fno/entities/*.yaml),
// served at the same path (/data). Differences that remain: enums are integers here (the gateway
// writes member names), there is no company scoping and no @odata.etag.
using { SALESLINE, SALESTABLE, CUSTTABLE } from '../db/schema';

@path: '/data'
@cds.query.limit: { default: 10000, max: 10000 } // the gateway's default --max-page-size
service Resources {
  @readonly entity SalesOrderLines as projection on SALESLINE {
    key DATAAREAID    as dataAreaId,
    key INVENTTRANSID as InventoryLotId,
        SALESID       as SalesOrderNumber,
        LINENUM       as LineNumber,
        ITEMID        as ItemNumber,
        SALESQTY      as OrderedSalesQuantity,
        SALESPRICE    as SalesPrice,
        LINEAMOUNT    as LineAmount,
        SALESUNIT     as SalesUnitSymbol,
        SALESSTATUS   as SalesOrderLineStatus,
        INVENTCOLORID as ProductColorId,
        INVENTSIZEID  as ProductSizeId,
  };

  @readonly entity SalesOrderHeadersV2 as projection on SALESTABLE {
    key DATAAREAID            as dataAreaId,
    key SALESID               as SalesOrderNumber,
        CUSTACCOUNT           as OrderingCustomerAccountNumber,
        SALESSTATUS           as SalesOrderStatus,
        CURRENCYCODE          as CurrencyCode,
        SHIPPINGDATEREQUESTED as RequestedShippingDate,
        CUSTOMERREF           as CustomerRequisitionNumber,
        CREATEDDATETIME       as OrderCreationDateTime,
        lines                 as SalesOrderLines,
  };

  @readonly entity CustomersV3 as projection on CUSTTABLE {
    key DATAAREAID                    as dataAreaId,
    key ACCOUNTNUM                    as CustomerAccount,
        party.PARTYNUMBER             as PartyNumber,
        party.NAME                    as OrganizationName,
        party.PARTYTYPE               as PartyType,
        CUSTGROUP                     as CustomerGroupId,
        CURRENCY                      as SalesCurrencyCode,
        CREDITMAX                     as CreditLimit,
        BLOCKED                       as OnHoldStatus,
        party.LANGUAGEID              as LanguageId,
        party.address.STREET          as AddressStreet,
        party.address.CITY            as AddressCity,
        party.address.STATE           as AddressState,
        party.address.ZIPCODE         as AddressZipCode,
        party.address.COUNTRYREGIONID as AddressCountryRegionId,
        CREATEDDATETIME               as CreatedDateTime,
  };
}
