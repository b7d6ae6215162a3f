from django.urls import path

from . import views

# Mounted under /desk/ in the "desk" namespace (csplatform/urls.py).
desk_urlpatterns = [
    path("returns/approvals/", views.approvals_page, name="return-approvals"),
    path("tickets/<str:number>/return/", views.return_start, name="return-start"),
    path("returns/<str:public_id>/approve/", views.return_approve, name="return-approve"),
    path("returns/<str:public_id>/reject/", views.return_reject, name="return-reject"),
    path("returns/<str:public_id>/receive/", views.return_receive, name="return-receive"),
    path("returns/<str:public_id>/inspect/", views.return_inspect, name="return-inspect"),
    path("returns/<str:public_id>/exchange/", views.return_exchange, name="return-exchange"),
    path("returns/<str:public_id>/refund/", views.return_refund, name="return-refund"),
    path(
        "returns/<str:public_id>/refunds/<int:refund_id>/retry/",
        views.refund_retry,
        name="refund-retry",
    ),
    path(
        "returns/<str:public_id>/evidence/", views.return_evidence_add, name="return-evidence-add"
    ),
    path(
        "returns/<str:public_id>/evidence/<int:evidence_id>/",
        views.return_evidence_download,
        name="return-evidence",
    ),
]
