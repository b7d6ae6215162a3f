from django.urls import path

from .views import (
    ReturnAppealApi,
    ReturnApproveApi,
    ReturnCancelApi,
    ReturnDetailApi,
    ReturnEvidenceAddApi,
    ReturnExchangeApi,
    ReturnInspectApi,
    ReturnListCreateApi,
    ReturnReceiveApi,
    ReturnRefundApi,
    ReturnRejectApi,
    ReturnShipmentApi,
)

urlpatterns = [
    path("returns/", ReturnListCreateApi.as_view(), name="returns"),
    path("returns/<str:public_id>/", ReturnDetailApi.as_view(), name="return"),
    path("returns/<str:public_id>/cancel/", ReturnCancelApi.as_view(), name="return-cancel"),
    path("returns/<str:public_id>/shipment/", ReturnShipmentApi.as_view(), name="return-shipment"),
    path("returns/<str:public_id>/appeal/", ReturnAppealApi.as_view(), name="return-appeal"),
    path(
        "returns/<str:public_id>/evidence/", ReturnEvidenceAddApi.as_view(), name="return-evidence"
    ),
    path("returns/<str:public_id>/approve/", ReturnApproveApi.as_view(), name="return-approve"),
    path("returns/<str:public_id>/reject/", ReturnRejectApi.as_view(), name="return-reject"),
    path("returns/<str:public_id>/receive/", ReturnReceiveApi.as_view(), name="return-receive"),
    path("returns/<str:public_id>/inspect/", ReturnInspectApi.as_view(), name="return-inspect"),
    path("returns/<str:public_id>/exchange/", ReturnExchangeApi.as_view(), name="return-exchange"),
    path("returns/<str:public_id>/refund/", ReturnRefundApi.as_view(), name="return-refund"),
]
