// The physical F&O tables of gateway/demo/schema.py, as they already exist in the demo SQLite file.
// @cds.persistence.exists: CAP reads these tables and never creates, alters or drops them.
// Entity names are the table names (no namespace), so CAP's SQL names them exactly as the gateway does.
// Keys are the natural keys the gateway's catalog uses (entities/fno/entities/*.yaml), not RECID.

@cds.persistence.exists
entity SALESTABLE {
  key DATAAREAID           : String(4);
  key SALESID              : String(20);
      RECID                : Int64;
      RECVERSION           : Integer;
      CUSTACCOUNT          : String(20);
      SALESSTATUS          : Integer;
      CURRENCYCODE         : String(3);
      SHIPPINGDATEREQUESTED: Date;
      CUSTOMERREF          : String(60);
      CREATEDDATETIME      : DateTime;
      lines                : Association to many SALESLINE
                               on lines.DATAAREAID = DATAAREAID and lines.SALESID = SALESID;
}

@cds.persistence.exists
entity SALESLINE {
  key DATAAREAID   : String(4);
  key INVENTTRANSID: String(20);
      RECID        : Int64;
      RECVERSION   : Integer;
      SALESID      : String(20);
      LINENUM      : Decimal(32, 6);
      ITEMID       : String(20);
      SALESQTY     : Decimal(32, 6);
      SALESPRICE   : Decimal(32, 6);
      LINEAMOUNT   : Decimal(32, 6);
      SALESUNIT    : String(10);
      SALESSTATUS  : Integer;
      INVENTCOLORID: String(10);
      INVENTSIZEID : String(10);
}

@cds.persistence.exists
entity CUSTTABLE {
  key DATAAREAID      : String(4);
  key ACCOUNTNUM      : String(20);
      RECID           : Int64;
      RECVERSION      : Integer;
      PARTY           : Int64;
      CUSTGROUP       : String(10);
      CURRENCY        : String(3);
      CREDITMAX       : Decimal(32, 6);
      BLOCKED         : Integer;
      CREATEDDATETIME : DateTime;
      MODIFIEDDATETIME: DateTime;
      party           : Association to one DIRPARTYTABLE on party.RECID = PARTY;
}

@cds.persistence.exists
entity DIRPARTYTABLE {
  key RECID         : Int64;
      RECVERSION    : Integer;
      PARTYNUMBER   : String(40);
      NAME          : String(100);
      PARTYTYPE     : Integer;
      LANGUAGEID    : String(7);
      PRIMARYADDRESS: Int64;
      address       : Association to one LOGISTICSPOSTALADDRESS on address.RECID = PRIMARYADDRESS;
}

@cds.persistence.exists
entity LOGISTICSPOSTALADDRESS {
  key RECID          : Int64;
      RECVERSION     : Integer;
      STREET         : String(250);
      CITY           : String(60);
      STATE          : String(10);
      ZIPCODE        : String(10);
      COUNTRYREGIONID: String(10);
}
