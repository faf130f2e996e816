// Package datamodel is the parameter tree of a simulated CPE. It sits inside the simulator, the
// far end of the flow (simulated CPE → cwmp → bridge → mqtt → platform): internal/cpesim/sim answers
// the ACS's GetParameterNames, GetParameterValues, SetParameterValues, Get/SetParameterAttributes,
// AddObject and DeleteObject from a *Model.
//
// Models load from CSV (the genieacs-sim dump format: Parameter,Object,Writable,Value,Value type;
// rows "DeviceID.*" give the Inform's DeviceId). Two are embedded:
//
//   - LoadTR098Huawei: a real Huawei BM632w (InternetGatewayDevice:1.1) dump.
//   - LoadTR181: a Device:2 subset generated from tr-181-2-17-0-cwmp-full.xml by ./gen
//     (go generate), with types and writability from the XML.
//
// A row whose name contains "{i}" is the template of a table's instances (AddObject copies it);
// templates are invisible to every RPC. Tables without a template copy the structure of their
// lowest-numbered instance with zero values.
//
// Memory: Clone shares the immutable parameter tree and copies only a small overlay of changed
// values and attributes, so 10,000 CPEs cost a few hundred bytes each plus what they change; the
// first AddObject/DeleteObject of a model copies the tree for that model only (copy-on-write).
//
// Errors are *Error values carrying the CWMP fault code (TR-069 Table 59) the CPE answers with.
package datamodel
